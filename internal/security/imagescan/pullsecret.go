package imagescan

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/authn"
)

// maxDockerConfig bounds a pull secret: real ones are a few KB.
const maxDockerConfig = 1 << 20

// DockerConfig is the credential part of a kubernetes.io/dockerconfigjson
// (or legacy kubernetes.io/dockercfg) secret: registry host → credentials.
type DockerConfig map[string]authn.AuthConfig

// ParseDockerConfig reads .dockerconfigjson ({"auths":{...}}) or the legacy
// .dockercfg form (the map itself). "auth" (base64 user:password) is decoded
// into Username and Password.
func ParseDockerConfig(data []byte) (DockerConfig, error) {
	if len(data) > maxDockerConfig {
		return nil, fmt.Errorf("docker config is %d bytes, larger than %d", len(data), maxDockerConfig)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("docker config is not valid UTF-8")
	}
	var wrapped struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return nil, fmt.Errorf("decode docker config: %w", err)
	}
	raw := wrapped.Auths
	if raw == nil {
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("decode docker config: %w", err)
		}
	}
	out := DockerConfig{}
	for host, msg := range raw {
		var e struct {
			Username      string `json:"username"`
			Password      string `json:"password"`
			Auth          string `json:"auth"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("docker config entry %q: %w", host, err)
		}
		ac := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
		if e.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("docker config entry %q: auth is not base64: %w", host, err)
			}
			u, p, ok := strings.Cut(string(dec), ":")
			if !ok {
				return nil, fmt.Errorf("docker config entry %q: auth is not user:password", host)
			}
			ac.Username, ac.Password = u, p
		}
		out[normalizeHost(host)] = ac
	}
	return out, nil
}

// normalizeHost turns "https://index.docker.io/v1/" or "ghcr.io/" into a
// registry host as go-containerregistry names it.
func normalizeHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return h
}

// Keychain answers with the credentials of the first config naming the registry.
type Keychain []DockerConfig

// Resolve implements authn.Keychain.
func (k Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := normalizeHost(r.RegistryStr())
	for _, c := range k {
		if ac, ok := c[host]; ok {
			return authn.FromConfig(ac), nil
		}
	}
	return authn.Anonymous, nil
}
