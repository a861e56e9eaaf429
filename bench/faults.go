package main

import (
	"fmt"
	"os"
)

// runFaults is the fault harness; see faults_run.go.
func runFaults(args []string) int {
	fmt.Fprintln(os.Stderr, "bench faults: not built yet")
	return 2
}
