module gorc.test/probes/tls

go 1.19
