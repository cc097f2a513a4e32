// Probe tls loads the system CA certificate pool, which needs a CA bundle in the image.
package main

import (
	"crypto/x509"
	"fmt"
	"os"
)

func main() {
	pool, err := x509.SystemCertPool()
	if err != nil {
		fmt.Printf("ERR tls: %v\n", err)
		os.Exit(1)
	}
	// Subjects is deprecated for the system pool but still counts the loaded roots.
	count := len(pool.Subjects()) //nolint:staticcheck
	if count == 0 {
		fmt.Println("ERR tls: no CA certificates found")
		os.Exit(1)
	}
	fmt.Printf("OK tls: %d CA certificates\n", count)
}
