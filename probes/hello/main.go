// Probe hello prints "hello": the smallest program that shows an image can start a binary.
package main

import "fmt"

func main() {
	fmt.Println("hello")
}
