module gorc.test/probes/tz

go 1.19
