// A small Go service of the kind teams move to minimal images: it resolves a
// host name, looks up the current user and reports the time in Paris. Built
// with cgo (the default where gcc exists) it links glibc dynamically.
package main

import (
	"fmt"
	"net"
	"os/user"
	"time"
)

func main() {
	addrs, err := net.LookupHost("localhost")
	fmt.Println("lookup localhost:", addrs, err)

	u, err := user.Current()
	if err == nil {
		fmt.Println("user:", u.Username)
	} else {
		fmt.Println("user:", err)
	}

	loc, err := time.LoadLocation("Europe/Paris")
	if err == nil {
		fmt.Println("paris:", time.Now().In(loc).Format(time.RFC3339))
	} else {
		fmt.Println("paris:", err)
	}
}
