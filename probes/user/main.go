// Probe user looks up the current user, which needs /etc/passwd (pure Go) or libc (cgo).
package main

import (
	"fmt"
	"os"
	"os/user"
)

func main() {
	current, err := user.Current()
	if err != nil {
		fmt.Printf("ERR user: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("OK user: %s uid=%s home=%s\n", current.Username, current.Uid, current.HomeDir)
}
