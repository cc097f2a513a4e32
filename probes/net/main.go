// Probe net resolves "localhost", which needs /etc/hosts (pure Go) or libc's resolver (cgo).
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	addrs, err := net.LookupHost("localhost")
	if err != nil {
		fmt.Printf("ERR net: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("OK net: localhost is %v\n", addrs)
}
