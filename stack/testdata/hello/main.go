// Command hello is a tiny main package the build test compiles in place of the handler.
package main

import "fmt"

func main() { fmt.Println("hello from bootstrap") }
