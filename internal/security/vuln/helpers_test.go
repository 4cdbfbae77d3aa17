package vuln_test

import (
	"os"
	"testing"
)

var tempDirs []string

func osMkdirTemp() (string, error) {
	d, err := os.MkdirTemp("", "vigil-vuln-test")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

// TestMain removes the image build directory shared by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
