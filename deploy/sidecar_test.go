package deploy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/stsbroker/broker/internal/config"
)

// sdkHTTPHosts are the hosts every SDK accepts over plain http for container
// credentials besides loopback IPs (reference/wire-facts.md §2.2).
var sdkHTTPHosts = []string{"169.254.170.2", "169.254.170.23", "fd00:ec2::23"}

// envOf returns the value of env var name in c.
func envOf(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// podCredentialProblems checks that the job container of a sidecar pod can
// get credentials from the broker sidecar as the AWS SDKs do: a FULL_URI the
// SDKs accept, naming a profile the sidecar serves on the port it listens on,
// and a token file that is a projected service-account token for an audience
// the sidecar's issuer accepts.
func podCredentialProblems(pod *corev1.Pod, cfg *config.Config) []string {
	var ps []string
	var job *corev1.Container
	for i := range pod.Spec.Containers {
		if envOf(&pod.Spec.Containers[i], "AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" {
			job = &pod.Spec.Containers[i]
		}
	}
	if job == nil {
		return []string{"no container sets AWS_CONTAINER_CREDENTIALS_FULL_URI"}
	}
	sidecar := false
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar = true
		}
	}
	if !sidecar {
		ps = append(ps, "no native sidecar (init container with restartPolicy: Always)")
	}

	u, err := url.Parse(envOf(job, "AWS_CONTAINER_CREDENTIALS_FULL_URI"))
	switch {
	case err != nil:
		ps = append(ps, "AWS_CONTAINER_CREDENTIALS_FULL_URI does not parse")
	case u.Scheme == "http" && !sdkAllowsHTTP(u.Hostname()):
		ps = append(ps, fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI: SDKs refuse plain http to %s (loopback, 169.254.170.2, 169.254.170.23 only)", u.Hostname()))
	}
	if u != nil {
		profile, ok := strings.CutPrefix(u.Path, "/v1/container/")
		if !ok || cfg.Profiles[profile] == nil {
			ps = append(ps, fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI path %q is not /v1/container/<a profile of the sidecar>", u.Path))
		}
		if _, port, _ := net.SplitHostPort(cfg.Server.Addr); u.Port() != port {
			ps = append(ps, fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI port %q, the sidecar listens on %s", u.Port(), cfg.Server.Addr))
		}
	}

	tokenFile := envOf(job, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	if tokenFile == "" {
		return append(ps, "no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	}
	sat := projectedToken(pod, job, tokenFile)
	switch {
	case sat == nil:
		ps = append(ps, fmt.Sprintf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s is not a projected service-account token mounted in %s", tokenFile, job.Name))
	case !audienceAccepted(cfg, sat.Audience):
		ps = append(ps, fmt.Sprintf("token audience %q is not accepted by the sidecar's issuers", sat.Audience))
	case sat.ExpirationSeconds == nil || *sat.ExpirationSeconds != 3600:
		ps = append(ps, "token expirationSeconds is not 3600")
	}
	return ps
}

func sdkAllowsHTTP(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return true
	}
	for _, h := range sdkHTTPHosts {
		if h == host {
			return true
		}
	}
	return false
}

// projectedToken returns the serviceAccountToken projection that file is in c.
func projectedToken(pod *corev1.Pod, c *corev1.Container, file string) *corev1.ServiceAccountTokenProjection {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil && path.Clean(s.ServiceAccountToken.Path) == rel {
					return s.ServiceAccountToken
				}
			}
		}
	}
	return nil
}

func audienceAccepted(cfg *config.Config, aud string) bool {
	for _, is := range cfg.Issuers {
		for _, a := range is.Audiences {
			if a == aud {
				return true
			}
		}
	}
	return false
}

// brokerConfig parses the broker.yaml key of a ConfigMap with the broker's
// own loader.
func brokerConfig(t *testing.T, cm *corev1.ConfigMap) *config.Config {
	t.Helper()
	t.Setenv("PROD_EXTERNAL_ID", "example-external-id")
	cfg, err := config.Parse(cm.Name+"/broker.yaml", []byte(cm.Data["broker.yaml"]))
	if err != nil {
		t.Fatalf("config.Parse(%s broker.yaml) error:\n%v", cm.Name, err)
	}
	return cfg
}

func TestSidecarExample(t *testing.T) {
	all := loadManifests(t)
	const file = "ci-runner-sidecar-example.yaml"
	pod := only[*corev1.Pod](t, all, file)
	cfg := brokerConfig(t, only[*corev1.ConfigMap](t, all, file))
	if ps := podCredentialProblems(pod, cfg); len(ps) > 0 {
		t.Errorf("%s: %q", file, ps)
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if ps := containerProblems(&pod.Spec, &cs[i]); len(ps) > 0 {
				t.Errorf("%s: %q", file, ps)
			}
		}
	}
	sa := only[*corev1.ServiceAccount](t, all, file)
	if pod.Spec.ServiceAccountName != sa.Name {
		t.Errorf("pod service account = %q, want %q", pod.Spec.ServiceAccountName, sa.Name)
	}
	// The profile's sub condition must admit the pod's own identity.
	want := "system:serviceaccount:" + pod.Namespace + ":" + sa.Name
	for name, p := range cfg.Profiles {
		if got := p.Conditions.StringEquals["sub"]; len(got) != 1 || got[0] != want {
			t.Errorf("profile %s sub condition = %q, want [%q]", name, got, want)
		}
	}
}

func TestSidecarChecksFail(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "as-shipped", mutate: func(*corev1.Pod) {}},
		{name: "http-to-service", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].Value = "http://broker.broker.svc:8080/v1/container/ci-deploy"
		}, want: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI: SDKs refuse plain http to broker.broker.svc (loopback, 169.254.170.2, 169.254.170.23 only)"}},
		{name: "unknown-profile", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].Value = "http://127.0.0.1:8080/v1/container/prod"
		}, want: []string{`AWS_CONTAINER_CREDENTIALS_FULL_URI path "/v1/container/prod" is not /v1/container/<a profile of the sidecar>`}},
		{name: "credentials-route", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].Value = "http://127.0.0.1:8080/v1/credentials/ci-deploy"
		}, want: []string{`AWS_CONTAINER_CREDENTIALS_FULL_URI path "/v1/credentials/ci-deploy" is not /v1/container/<a profile of the sidecar>`}},
		{name: "wrong-port", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].Value = "http://127.0.0.1:9090/v1/container/ci-deploy"
		}, want: []string{`AWS_CONTAINER_CREDENTIALS_FULL_URI port "9090", the sidecar listens on 127.0.0.1:8080`}},
		{name: "token-not-mounted", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[1].Value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
		}, want: []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE /var/run/secrets/kubernetes.io/serviceaccount/token is not a projected service-account token mounted in job"}},
		{name: "wrong-audience", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[1].Projected.Sources[0].ServiceAccountToken.Audience = "https://kubernetes.default.svc"
		}, want: []string{`token audience "https://kubernetes.default.svc" is not accepted by the sidecar's issuers`}},
		{name: "not-a-native-sidecar", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = nil
		}, want: []string{"no native sidecar (init container with restartPolicy: Always)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := loadManifests(t)
			const file = "ci-runner-sidecar-example.yaml"
			pod := only[*corev1.Pod](t, all, file)
			cfg := brokerConfig(t, only[*corev1.ConfigMap](t, all, file))
			tt.mutate(pod)
			if got := podCredentialProblems(pod, cfg); !equalStrings(got, tt.want) {
				t.Errorf("podCredentialProblems() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestManifestsAgree checks that the objects fit together: the ConfigMap is
// configs/kubernetes.yaml and loads; ports, names and selectors line up.
func TestManifestsAgree(t *testing.T) {
	all := loadManifests(t)
	cm := only[*corev1.ConfigMap](t, all, "configmap.yaml")
	want, err := os.ReadFile("../configs/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["broker.yaml"] != string(want) {
		t.Errorf("configmap.yaml broker.yaml differs from configs/kubernetes.yaml: keep them identical")
	}
	cfg := brokerConfig(t, cm)

	d := only[*appsv1.Deployment](t, all, "deployment.yaml")
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	_, addrPort, _ := net.SplitHostPort(cfg.Server.Addr)
	_, metricsPort, _ := net.SplitHostPort(cfg.Server.MetricsAddr)
	if got := fmt.Sprint(ports["https"]); got != addrPort {
		t.Errorf("container port https = %s, broker listens on %s", got, cfg.Server.Addr)
	}
	if got := fmt.Sprint(ports["metrics"]); got != metricsPort {
		t.Errorf("container port metrics = %s, metrics listen on %s", got, cfg.Server.MetricsAddr)
	}
	if cfg.Server.TLS == nil {
		t.Fatalf("configmap broker.yaml has no server.tls, but the probes use HTTPS")
	}
	projected := map[string]bool{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.Secret != nil {
				for _, it := range s.Secret.Items {
					projected["/etc/broker/"+it.Path] = true
				}
			}
		}
	}
	for _, f := range []string{cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile} {
		if !projected[f] {
			t.Errorf("%s is not projected into /etc/broker by the Deployment", f)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Name != "PROD_EXTERNAL_ID" {
			t.Errorf("unexpected secret env %s", e.Name)
		}
	}

	labels := d.Spec.Template.Labels
	svc := only[*corev1.Service](t, all, "service.yaml")
	pdb := only[*policyv1.PodDisruptionBudget](t, all, "pdb.yaml")
	np := only[*networkingv1.NetworkPolicy](t, all, "networkpolicy.yaml")
	selectors := map[string]map[string]string{
		"deployment": d.Spec.Selector.MatchLabels,
		"service":    svc.Spec.Selector,
		"pdb":        pdb.Spec.Selector.MatchLabels,
		"netpol":     np.Spec.PodSelector.MatchLabels,
	}
	for name, sel := range selectors {
		if len(sel) == 0 {
			t.Errorf("%s selects nothing", name)
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s selector %s=%s does not match the pod labels %v", name, k, v, labels)
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.StrVal]; !ok {
			t.Errorf("service port %s targets %q, not a container port name", p.Name, p.TargetPort.String())
		}
	}
	var npPorts []string
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			npPorts = append(npPorts, p.Port.String())
		}
	}
	if fmt.Sprint(npPorts) != fmt.Sprint([]string{addrPort, metricsPort}) {
		t.Errorf("network policy ingress ports = %v, want [%s %s]", npPorts, addrPort, metricsPort)
	}
	for _, obj := range []string{d.Namespace, svc.Namespace, pdb.Namespace, np.Namespace, cm.Namespace} {
		if obj != "broker" {
			t.Errorf("object in namespace %q, want broker", obj)
		}
	}
}
