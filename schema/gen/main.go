// Command gen writes the JSON Schemas into the current directory; run it
// with `go generate ./schema`.
package main

import (
	"fmt"
	"os"

	"github.com/autotuner/autotuner/schema"
)

func main() {
	files, err := schema.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
