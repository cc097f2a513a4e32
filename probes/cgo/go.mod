module gorc.test/probes/cgo

go 1.19
