// Package config resolves vigil's settings. Every setting is a command-line
// flag; the same setting can come from the environment (VIGIL_ + the flag name
// in upper case with '-' as '_') or from a YAML file whose keys are the flag
// names. Precedence, highest first: flag, environment, file, built-in default.
package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// EnvName returns the environment variable for a flag, e.g. data-dir → VIGIL_DATA_DIR.
func EnvName(flag string) string {
	return "VIGIL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply fills every flag of fs that was not set on the command line from the
// environment, then from the YAML file at path (if path is not empty).
func Apply(fs *pflag.FlagSet, path string) error {
	file := map[string]any{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read config file: %w", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("parse config file %s: %w", path, err)
		}
		for k := range file {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("config file %s: unknown setting %q", path, k)
			}
		}
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", EnvName(f.Name), err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := setFromYAML(fs, f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s in %s: %v", f.Name, path, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

func setFromYAML(fs *pflag.FlagSet, name string, v any) error {
	if list, ok := v.([]any); ok {
		for _, item := range list {
			if err := fs.Set(name, fmt.Sprint(item)); err != nil {
				return err
			}
		}
		return nil
	}
	return fs.Set(name, fmt.Sprint(v))
}
