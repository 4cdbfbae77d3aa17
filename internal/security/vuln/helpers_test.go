package vuln_test

import "os"

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "vigil-vuln-test") }
