package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the paths of the certificates and keys written for a cluster.
type pki struct {
	CACert, CAKey                        string
	FrontProxyCACert                     string
	APIServerCert, APIServerKey          string
	KwokCert, KwokKey                    string
	ServiceAccountKey, ServiceAccountPub string

	caPEM []byte
}

// apiServerSANs are the names the kube-apiserver serving certificate is valid for.
var apiServerSANs = []string{
	"localhost",
	"kubernetes",
	"kubernetes.default",
	"kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
}

var apiServerIPs = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}

type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newECKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func newCA(cn string) (*keyPair, error) {
	key, err := newECKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func (ca *keyPair) sign(cn string, org []string, usage []x509.ExtKeyUsage, dns []string, ips []net.IP) (*keyPair, error) {
	key, err := newECKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: org},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func writePair(dir, name string, kp *keyPair) (certPath, keyPath string, err error) {
	certPath = filepath.Join(dir, name+".crt")
	keyPath = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, certPEM(kp.cert), 0o644); err != nil {
		return "", "", err
	}
	kb, err := keyPEM(kp.key)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, kb, 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writePKI generates every certificate and key the cluster needs into dir.
func writePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &pki{}
	ca, err := newCA("vigil-test-ca")
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if p.CACert, p.CAKey, err = writePair(dir, "ca", ca); err != nil {
		return nil, err
	}
	p.caPEM = certPEM(ca.cert)

	fp, err := newCA("vigil-test-front-proxy-ca")
	if err != nil {
		return nil, fmt.Errorf("front-proxy ca: %w", err)
	}
	if p.FrontProxyCACert, _, err = writePair(dir, "front-proxy-ca", fp); err != nil {
		return nil, err
	}

	serverUsage := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	apiserver, err := ca.sign("kube-apiserver", nil, serverUsage, apiServerSANs, apiServerIPs)
	if err != nil {
		return nil, fmt.Errorf("apiserver cert: %w", err)
	}
	if p.APIServerCert, p.APIServerKey, err = writePair(dir, "apiserver", apiserver); err != nil {
		return nil, err
	}

	kwok, err := ca.sign("kwok", nil, serverUsage, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return nil, fmt.Errorf("kwok cert: %w", err)
	}
	if p.KwokCert, p.KwokKey, err = writePair(dir, "kwok", kwok); err != nil {
		return nil, err
	}

	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	p.ServiceAccountKey = filepath.Join(dir, "sa.key")
	p.ServiceAccountPub = filepath.Join(dir, "sa.pub")
	kb, err := keyPEM(sa)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.ServiceAccountKey, kb, 0o600); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(sa.Public())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.ServiceAccountPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}
