package api

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stsbroker/broker/internal/chain"
)

// TestAnswersMatchEncodingJSON: writeProcess and writeContainer write what
// encoding/json writes for processOutput and containerOutput, byte for byte,
// for every single byte in every field and for non-ASCII and invalid UTF-8.
func TestAnswersMatchEncodingJSON(t *testing.T) {
	base := chain.Credentials{
		AccessKeyID: "ASIAEXAMPLEEXAMPLE12", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken: "IQoJb3JpZ2luX2VjEBAaCXVzLWVhc3QtMSJHMEUCIQD+/=", Expiration: time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC),
		AccountID: "222222222222", RoleARN: "arn:aws:iam::222222222222:role/ci-deploy-role",
	}
	var cases []chain.Credentials
	cases = append(cases, base, chain.Credentials{AccessKeyID: "A", SecretAccessKey: "s", SessionToken: "t", Expiration: base.Expiration})
	odd := []string{"", "é", "日本", "\u2028\u2029", "\xff\xfe", "a\x00b", "<script>&", `"quoted"`, `back\slash`, "tab\tnl\n"}
	for c := range 256 {
		odd = append(odd, "x"+string([]byte{byte(c)})+"y")
	}
	for _, v := range odd {
		for field := range 5 {
			c := base
			switch field {
			case 0:
				c.AccessKeyID = v
			case 1:
				c.SecretAccessKey = chain.Secret(v)
			case 2:
				c.SessionToken = chain.Secret(v)
			case 3:
				c.AccountID = v
			case 4:
				c.RoleARN = v
			}
			cases = append(cases, c)
		}
	}
	for i, c := range cases {
		wantProcess, _ := json.Marshal(processOutput{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(),
			SessionToken: c.SessionToken.Reveal(), Expiration: expiration(c.Expiration), AccountID: c.AccountID})
		wantContainer, _ := json.Marshal(containerOutput{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(),
			Token: c.SessionToken.Reveal(), Expiration: expiration(c.Expiration), AccountID: c.AccountID, RoleARN: c.RoleARN})
		for _, tt := range []struct {
			name  string
			write func(*httptest.ResponseRecorder) error
			want  []byte
		}{
			{"process", func(w *httptest.ResponseRecorder) error { return writeProcess(w, c) }, wantProcess},
			{"container", func(w *httptest.ResponseRecorder) error { return writeContainer(w, c) }, wantContainer},
		} {
			w := httptest.NewRecorder()
			if err := tt.write(w); err != nil {
				t.Fatalf("case %d %s: write = %v", i, tt.name, err)
			}
			want := string(tt.want) + "\n"
			if got := w.Body.String(); got != want {
				t.Errorf("case %d %s:\n got %q\nwant %q", i, tt.name, got, want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(want)) {
				t.Errorf("case %d %s: Content-Length = %s, want %d", i, tt.name, got, len(want))
			}
		}
	}
}
