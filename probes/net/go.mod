module gorc.test/probes/net

go 1.19
