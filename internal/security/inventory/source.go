package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Source is where an image came from.
type Source struct {
	Kind   string `json:"kind"` // tarball, oci-layout, registry
	Ref    string `json:"ref"`
	Digest string `json:"digest,omitempty"` // manifest digest
}

// OpenOptions configure image loading.
type OpenOptions struct {
	// Keychain resolves registry credentials (default: the Docker config and
	// credential helpers of this machine).
	Keychain authn.Keychain
	// Platform picks one image from a multi-platform index (default linux/amd64).
	Platform *v1.Platform
	Context  context.Context
}

// OpenImage loads a `docker save` tarball, an OCI layout directory, or a
// registry reference (tried in that order: an existing path is never sent
// to a registry).
func OpenImage(ref string, opts OpenOptions) (v1.Image, Source, error) {
	if st, err := os.Stat(ref); err == nil {
		if st.IsDir() {
			return openLayout(ref, opts)
		}
		img, err := tarball.ImageFromPath(ref, nil)
		if err != nil {
			return nil, Source{}, fmt.Errorf("read docker-save tarball %s: %w", ref, err)
		}
		return withDigest(img, Source{Kind: "tarball", Ref: ref})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, Source{}, fmt.Errorf("%q is neither a file, a directory nor an image reference: %w", ref, err)
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	plat := opts.Platform
	if plat == nil {
		plat = &v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	img, err := remote.Image(r, remote.WithAuthFromKeychain(kc), remote.WithContext(ctx), remote.WithPlatform(*plat))
	if err != nil {
		return nil, Source{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return withDigest(img, Source{Kind: "registry", Ref: ref})
}

func openLayout(dir string, opts OpenOptions) (v1.Image, Source, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, Source{}, fmt.Errorf("%s is a directory but not an OCI image layout (no index.json); use `vigil scan fs` for plain directories", dir)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, Source{}, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, Source{}, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	img, err := firstImage(idx, opts.Platform)
	if err != nil {
		return nil, Source{}, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	return withDigest(img, Source{Kind: "oci-layout", Ref: dir})
}

// firstImage descends an index to the image for the platform (any, when nil
// and the index holds one image).
func firstImage(idx v1.ImageIndex, plat *v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := firstImage(child, plat); err == nil {
				return img, nil
			}
			continue
		}
		if !d.MediaType.IsImage() {
			continue
		}
		if plat != nil && d.Platform != nil && !d.Platform.Satisfies(*plat) {
			continue
		}
		return idx.Image(d.Digest)
	}
	return nil, fmt.Errorf("no image manifest in the index: %w", ErrNoImage)
}

func withDigest(img v1.Image, src Source) (v1.Image, Source, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, src, fmt.Errorf("image digest of %s: %w", src.Ref, err)
	}
	src.Digest = d.String()
	return img, src, nil
}
