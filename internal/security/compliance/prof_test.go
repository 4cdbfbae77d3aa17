package compliance

import (
	"context"
	"testing"

	"sigs.k8s.io/yaml"
)

func benchOne(b *testing.B, doc string) {
	e, _ := Load(context.Background(), "")
	var m map[string]any
	yaml.Unmarshal([]byte(doc), &m)
	objs, _ := KubeObjects([]Manifest{{Object: m}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.evalOne(context.Background(), objs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSecure(b *testing.B) {
	benchOne(b, `{"kind":"Pod","metadata":{"name":"p","namespace":"x"},"spec":{"serviceAccountName":"a","automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a","image":"x","resources":{"limits":{"cpu":"1","memory":"1Gi"}},"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}}]}}`)
}
func BenchmarkInsecure(b *testing.B) {
	benchOne(b, `{"kind":"Pod","metadata":{"name":"p","namespace":"x"},"spec":{"hostPID":true,"containers":[{"name":"a","image":"x","securityContext":{"privileged":true}},{"name":"b","image":"y"}]}}`)
}
func BenchmarkNamespace(b *testing.B) {
	benchOne(b, `{"kind":"Namespace","metadata":{"name":"x"}}`)
}
