module gorc.test/probes/exec

go 1.19
