// Probe cgo calls a tiny C function, so every cgo build of it links against libc.
package main

/*
#include <stdio.h>

static int answer(void) {
	return 42;
}
*/
import "C"

import "fmt"

func main() {
	fmt.Printf("OK cgo: C says %d\n", int(C.answer()))
}
