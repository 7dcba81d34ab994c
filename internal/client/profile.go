package client

// maxProfileBytes is the longest profile name the broker accepts.
const maxProfileBytes = 64

// validProfile reports whether name can be a broker profile: 1 to 64 of
// A-Z a-z 0-9 _ . - and not only dots. It copies the server's rule, which
// lives in internal/config (profileName in validate_profile.go, checked when
// the config loads) and internal/api (validProfileName, checked per
// request); the client does not import them, as it talks to the broker
// only over HTTP. Any other name can never be served, and some would not
// even reach the broker as sent: proxies and curl normalise "." and ".."
// away as path segments, so /v1/credentials/.. becomes /v1/.
func validProfile(name string) bool {
	if len(name) < 1 || len(name) > maxProfileBytes {
		return false
	}
	dots := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots < len(name)
}
