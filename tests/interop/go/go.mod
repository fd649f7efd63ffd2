module otelpki/interop/mtls_check

go 1.19
