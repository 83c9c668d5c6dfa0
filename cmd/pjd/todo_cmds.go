package main

import (
	"context"
	"errors"
	"io"
)

// runConformance and runBench are completed by the conformance and bench
// work in progress.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not yet available")
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not yet available")
}
