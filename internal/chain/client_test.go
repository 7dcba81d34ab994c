package chain

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestNewClientLogsThroughZap: the SDK's own warnings (here the IMDSv1
// fallback while the ambient provider looks for credentials) reach the
// broker's logger as structured lines instead of plain text on stderr.
func TestNewClientLogsThroughZap(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r) // no IMDSv2 token, no role: no ambient credentials
	}))
	t.Cleanup(imds.Close)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL,
		"AWS_EC2_METADATA_DISABLED":         "false",
		"AWS_CONFIG_FILE":                   none,
		"AWS_SHARED_CREDENTIALS_FILE":       none,
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	core, logs := observer.New(zap.DebugLevel)
	_, ambient, err := NewClient(t.Context(), ClientConfig{Region: "us-east-1", Log: zap.New(core)})
	if err != nil {
		t.Fatalf("NewClient() = %v", err)
	}
	if _, err := ambient.Retrieve(t.Context()); err == nil {
		t.Fatalf("ambient Retrieve() = nil error, want no credentials")
	}
	lines := logs.FilterMessage("aws sdk").All()
	if len(lines) == 0 {
		t.Fatalf("logged %v, want the SDK's IMDSv1 fallback warning as an \"aws sdk\" line", logs.All())
	}
	if l := lines[0]; l.Level != zap.WarnLevel || !strings.Contains(l.ContextMap()["detail"].(string), "falling back to IMDSv1") {
		t.Errorf("first aws sdk line = %s %v, want a warning about the IMDSv1 fallback", l.Level, l.ContextMap())
	}
}
