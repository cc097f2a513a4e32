// Probe tz loads a named time zone, which needs zoneinfo in the image (or time/tzdata).
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		fmt.Printf("ERR tz: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("OK tz: %s\n", loc)
}
