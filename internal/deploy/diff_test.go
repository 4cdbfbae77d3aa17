package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	// Live objects come from JSON: numbers are float64 or int64, never int.
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

const desiredSTS = `
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: web:1.0
          resources: {requests: {cpu: "0.5", memory: 128Mi}}
          env:
            - {name: A, value: "1"}
          ports:
            - {containerPort: 8080}
      nodeSelector: {}
      hostNetwork: false
`

const liveSTS = `
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  uid: 123
  resourceVersion: "999"
  generation: 4
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  annotations: {deprecated.daemonset.template.generation: "1"}
spec:
  replicas: %s
  revisionHistoryLimit: 10
  podManagementPolicy: OrderedReady
  template:
    spec:
      containers:
        - name: web
          image: %s
          imagePullPolicy: IfNotPresent
          terminationMessagePath: /dev/termination-log
          resources: {requests: {cpu: 500m, memory: 128Mi}}
          env:
            - {name: A, value: "1"}
          ports:
            - {containerPort: 8080, protocol: TCP}
      restartPolicy: Always
      dnsPolicy: ClusterFirst
status:
  replicas: 1
  readyReplicas: 1
`

func liveWith(t *testing.T, replicas, image string) map[string]any {
	s := strings.Replace(liveSTS, "%s", replicas, 1)
	s = strings.Replace(s, "%s", image, 1)
	return obj(t, s)
}

func TestCompareDesiredIgnoresWhatTheClusterFillsIn(t *testing.T) {
	if cs := CompareDesired(obj(t, desiredSTS), liveWith(t, "1", "web:1.0")); len(cs) != 0 {
		t.Fatalf("defaults, status and server metadata reported as drift: %v", cs)
	}
}

func TestCompareDesiredFindsDrift(t *testing.T) {
	cs := CompareDesired(obj(t, desiredSTS), liveWith(t, "3", "web:evil"))
	got := map[string]Change{}
	for _, c := range cs {
		got[c.Path] = c
	}
	if len(cs) != 2 {
		t.Fatalf("changes %v", cs)
	}
	r := got["spec.replicas"]
	if r.Op != "changed" || r.Desired != float64(1) || r.Live != float64(3) {
		t.Errorf("replicas change %+v", r)
	}
	img := got["spec.template.spec.containers[name=web].image"]
	if img.Desired != "web:1.0" || img.Live != "web:evil" {
		t.Errorf("image change %+v", img)
	}
	if s := r.String(); s != "spec.replicas: desired 1, live 3" {
		t.Errorf("String() = %q", s)
	}
	if s := r.Transition(); s != "spec.replicas: 3 → 1" {
		t.Errorf("Transition() = %q", s)
	}
}

func TestCompareDesiredMissingAndRemoved(t *testing.T) {
	l := liveWith(t, "1", "web:1.0")
	delete(l["metadata"].(map[string]any), "labels")
	c := l["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["env"] = []any{map[string]any{"name": "A", "value": "2"}, map[string]any{"name": "B", "value": "x"}}
	cs := CompareDesired(obj(t, desiredSTS), l)
	var paths []string
	for _, c := range cs {
		paths = append(paths, c.Op+" "+c.Path)
	}
	want := []string{"missing metadata.labels", "changed spec.template.spec.containers[name=web].env[name=A].value"}
	if strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Errorf("changes %v, want %v (an extra env var in live is not drift of a desired field)", paths, want)
	}
}

func TestCompareAllBothWays(t *testing.T) {
	a := map[string]any{"tags": map[string]any{"env": "prod"}, "size": json.Number("3"), "list": []any{"a", "b"}}
	b := map[string]any{"tags": map[string]any{"env": "prod", "owner": "bob"}, "size": json.Number("3.0"), "list": []any{"a"}}
	cs := CompareAll(a, b)
	var got []string
	for _, c := range cs {
		got = append(got, c.Op+" "+c.Path)
	}
	if strings.Join(got, "|") != "changed list|added tags.owner" {
		t.Errorf("CompareAll = %v", got)
	}
}

func TestMaskValues(t *testing.T) {
	v := map[string]any{
		"server": map[string]any{"adminPassword": "hunter2", "existingSecret": "my-secret", "retention": map[string]any{"logs": "72h"}},
		"agent":  map[string]any{"token": "", "tolerations": []any{map[string]any{"key": "kwok.x-k8s.io/node"}}},
		"smtp":   map[string]any{"password": "pw", "username": "u"},
		"tls":    map[string]any{"secretName": "vigil-tls"},
	}
	m := MaskValues(v).(map[string]any)
	b, _ := json.Marshal(m)
	s := string(b)
	for _, secret := range []string{"hunter2", `"pw"`} {
		if strings.Contains(s, secret) {
			t.Errorf("masked values still hold %s: %s", secret, s)
		}
	}
	for _, keep := range []string{"my-secret", "72h", "vigil-tls", "kwok.x-k8s.io/node", `"token":""`} {
		if !strings.Contains(s, keep) {
			t.Errorf("masked values lost %s: %s", keep, s)
		}
	}
	if v["server"].(map[string]any)["adminPassword"] != "hunter2" {
		t.Error("MaskValues changed its input")
	}
}

func TestParseManifests(t *testing.T) {
	objs, err := ParseManifests([]byte(`
# a comment only
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: abc}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("%d objects", len(objs))
	}
	if d, _ := objs[0].Object["data"].(map[string]any); d["password"] != "YWJj" || objs[0].Object["stringData"] != nil {
		t.Errorf("stringData not turned into data: %v", objs[0].Object)
	}
	for _, bad := range []string{
		"kind: ConfigMap\nmetadata: {name: x}\n",           // no apiVersion
		"apiVersion: v1\nkind: ConfigMap\n",                // no name
		"apiVersion: v1\nkind: ConfigMap\nmetadata: [1]\n", // metadata not a map
		"apiVersion: v1\nkind: [\n",                        // malformed
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff}\n",
	} {
		if _, err := ParseManifests([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := ParseManifests(make([]byte, MaxManifestBytes+1)); err == nil {
		t.Error("accepted an oversized stream")
	}
}

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte(desiredSTS))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"stringData\":{\"a\":\"b\"}}"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseManifests(data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetName() == "" || o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("accepted object without identity: %v", o.Object)
			}
			// Comparing an object with itself finds nothing.
			if cs := CompareDesired(o.Object, o.Object); len(cs) != 0 {
				t.Fatalf("self-compare found %v", cs)
			}
			if cs := CompareAll(o.Object, o.Object); len(cs) != 0 {
				t.Fatalf("symmetric self-compare found %v", cs)
			}
		}
	})
}
