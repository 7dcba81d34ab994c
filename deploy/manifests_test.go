package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const kubernetesDir = "kubernetes"

// maxManifestSize bounds one manifest file.
const maxManifestSize = 1 << 20

// docSeparator splits a multi-document YAML file.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// manifest is one decoded Kubernetes object.
type manifest struct {
	// Where is file#index of the YAML document.
	Where  string
	Object any
}

// newObject returns an empty typed object for apiVersion and kind.
func newObject(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Pod":
		return &corev1.Pod{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	}
	return nil, fmt.Errorf("unknown apiVersion %q kind %q", tm.APIVersion, tm.Kind)
}

// decodeManifests decodes every document of a YAML file strictly into its
// typed object: unknown or duplicate fields and wrong types are errors.
func decodeManifests(name string, data []byte) ([]manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxManifestSize)
	}
	var out []manifest
	for i, doc := range docSeparator.Split(string(data), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
			continue
		}
		where := fmt.Sprintf("%s#%d", name, i)
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		obj, err := newObject(tm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, manifest{Where: where, Object: obj})
	}
	return out, nil
}

// stripComments drops whole-line YAML comments.
func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// loadManifests decodes every manifest under kubernetesDir, by file name.
func loadManifests(t *testing.T) map[string][]manifest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]manifest{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := decodeManifests(p, data)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		all[filepath.Base(p)] = ms
	}
	return all
}

// only returns the single object of type T in file, failing otherwise.
func only[T any](t *testing.T, all map[string][]manifest, file string) T {
	t.Helper()
	var found []T
	for _, m := range all[file] {
		if o, ok := m.Object.(T); ok {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%s: found %d objects of type %T, want 1", file, len(found), zero)
	}
	return found[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	all := loadManifests(t)
	want := map[string][]string{
		"deployment.yaml":                {"*v1.Deployment"},
		"service.yaml":                   {"*v1.Service"},
		"configmap.yaml":                 {"*v1.ConfigMap"},
		"pdb.yaml":                       {"*v1.PodDisruptionBudget"},
		"networkpolicy.yaml":             {"*v1.NetworkPolicy"},
		"ci-runner-sidecar-example.yaml": {"*v1.ServiceAccount", "*v1.ConfigMap", "*v1.Pod"},
	}
	got := map[string][]string{}
	for file, ms := range all {
		for _, m := range ms {
			got[file] = append(got[file], fmt.Sprintf("%T", m.Object))
		}
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("manifests = %v, want %v", got, want)
	}
}

func TestStrictDecodeFails(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "good",
			doc:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
		},
		{
			name: "unknown-field",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
			want: `bad.yaml#0: error unmarshaling JSON: while decoding JSON: json: unknown field "replica"`,
		},
		{
			name: "misplaced-security-field",
			doc:  "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - name: c\n      readOnlyRootFilesystem: true\n",
			want: `bad.yaml#0: error unmarshaling JSON: while decoding JSON: json: unknown field "readOnlyRootFilesystem"`,
		},
		{
			name: "wrong-type",
			doc:  "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec:\n  selector: one\n",
			want: "bad.yaml#0: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field PodDisruptionBudgetSpec.spec.selector of type v1.LabelSelector",
		},
		{
			name: "duplicate-key",
			doc:  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
			want: `bad.yaml#0: error converting YAML to JSON: yaml: unmarshal errors:` + "\n" + `  line 4: key "metadata" already set in map`,
		},
		{
			name: "unknown-kind",
			doc:  "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
			want: `bad.yaml#0: unknown apiVersion "v1" kind "Secret"`,
		},
		{
			name: "second-document-bad",
			doc:  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadta: {name: y}\n",
			want: `bad.yaml#1: error unmarshaling JSON: while decoding JSON: json: unknown field "metadta"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeManifests("bad.yaml", []byte(tt.doc))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("decodeManifests() error = %q, want %q", got, tt.want)
			}
		})
	}
}

// containerProblems checks one container's hardening and resources.
func containerProblems(pod *corev1.PodSpec, c *corev1.Container) []string {
	var ps []string
	add := func(msg string) { ps = append(ps, fmt.Sprintf("container %s: %s", c.Name, msg)) }
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		add("runAsNonRoot is not true")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		add("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		add("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		add("capabilities do not drop ALL (and add none)")
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		add("seccompProfile is not RuntimeDefault")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			add(fmt.Sprintf("no %s request", r))
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			add(fmt.Sprintf("no %s limit", r))
		}
	}
	return ps
}

// deploymentProblems checks the broker Deployment: replicas, hardening,
// resources, probes and where the configuration comes from.
func deploymentProblems(d *appsv1.Deployment) []string {
	var ps []string
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		ps = append(ps, "fewer than 2 replicas")
	}
	pod := &d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		return append(ps, fmt.Sprintf("%d containers, want 1", len(pod.Containers)))
	}
	c := &pod.Containers[0]
	ps = append(ps, containerProblems(pod, c)...)
	if p := httpProbePath(c.LivenessProbe); p != "/healthz" {
		ps = append(ps, fmt.Sprintf("liveness probe path %q, want /healthz", p))
	}
	if p := httpProbePath(c.ReadinessProbe); p != "/readyz" {
		ps = append(ps, fmt.Sprintf("readiness probe path %q, want /readyz", p))
	}
	if !configFromConfigMap(pod, c) {
		ps = append(ps, "/etc/broker/broker.yaml does not come from a ConfigMap")
	}
	return ps
}

func httpProbePath(p *corev1.Probe) string {
	if p == nil || p.HTTPGet == nil {
		return ""
	}
	return p.HTTPGet.Path
}

// configFromConfigMap reports whether c mounts a volume at /etc/broker that
// puts a ConfigMap key at broker.yaml.
func configFromConfigMap(pod *corev1.PodSpec, c *corev1.Container) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != "/etc/broker" || m.SubPath != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			var cms []*corev1.ConfigMapProjection
			if v.ConfigMap != nil {
				cms = append(cms, &corev1.ConfigMapProjection{Items: v.ConfigMap.Items})
			}
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.ConfigMap != nil {
						cms = append(cms, s.ConfigMap)
					}
				}
			}
			for _, cm := range cms {
				if len(cm.Items) == 0 {
					return true // every key, broker.yaml among them
				}
				for _, it := range cm.Items {
					if it.Path == "broker.yaml" {
						return true
					}
				}
			}
		}
	}
	return false
}

func TestDeploymentHardening(t *testing.T) {
	d := only[*appsv1.Deployment](t, loadManifests(t), "deployment.yaml")
	if ps := deploymentProblems(d); len(ps) > 0 {
		t.Errorf("deployment.yaml:\n%v", ps)
	}
}

func TestDeploymentChecksFail(t *testing.T) {
	no, yes := false, true
	one := int32(1)
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []string
	}{
		{name: "as-shipped", mutate: func(*appsv1.Deployment) {}},
		{name: "one-replica", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = &one },
			want: []string{"fewer than 2 replicas"}},
		{name: "root-allowed", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
			d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot = &no
		}, want: []string{"container broker: runAsNonRoot is not true"}},
		{name: "writable-root", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = nil
		}, want: []string{"container broker: readOnlyRootFilesystem is not true"}},
		{name: "privilege-escalation", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &yes
		}, want: []string{"container broker: allowPrivilegeEscalation is not false"}},
		{name: "capability-added", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}, want: []string{"container broker: capabilities do not drop ALL (and add none)"}},
		{name: "unconfined-seccomp", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.SeccompProfile = nil
			d.Spec.Template.Spec.SecurityContext.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
		}, want: []string{"container broker: seccompProfile is not RuntimeDefault"}},
		{name: "no-memory-limit", mutate: func(d *appsv1.Deployment) {
			delete(d.Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, want: []string{"container broker: no memory limit"}},
		{name: "liveness-on-readyz", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/readyz"
		}, want: []string{`liveness probe path "/readyz", want /healthz`}},
		{name: "no-readiness", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe = nil
		}, want: []string{`readiness probe path "", want /readyz`}},
		{name: "config-elsewhere", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].VolumeMounts[0].MountPath = "/config"
		}, want: []string{"/etc/broker/broker.yaml does not come from a ConfigMap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := only[*appsv1.Deployment](t, loadManifests(t), "deployment.yaml")
			tt.mutate(d)
			got := deploymentProblems(d)
			if !equalStrings(got, tt.want) {
				t.Errorf("deploymentProblems() = %q, want %q", got, tt.want)
			}
		})
	}
}
