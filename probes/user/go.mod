module gorc.test/probes/user

go 1.19
