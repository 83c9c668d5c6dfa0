package ui_test

import (
	"os"
	"testing"

	"pjd/conformance/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
