module gorc.test/probes/hello

go 1.19
