// Probe exec runs "ls /", which needs an ls program on PATH in the image.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	out, err := exec.Command("ls", "/").CombinedOutput()
	if err != nil {
		fmt.Printf("ERR exec: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("OK exec: ls / listed %d entries\n", len(strings.Fields(string(out))))
}
