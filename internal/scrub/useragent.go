package scrub

import (
	"hash/maphash"
	"maps"
	"strings"

	"github.com/mileusna/useragent"
)

// uaCache generalises user agents behind a bounded LRU keyed by a seeded 64-bit
// hash of the user agent: a handful of distinct user agents make up most traffic,
// and a hit costs a hash and a map copy instead of a parse. The cache holds the
// generalised fields only, never a user agent.
type uaCache struct {
	seed  maphash.Seed
	cache *lru[map[string]any]
}

func newUACache(size int) *uaCache {
	return &uaCache{seed: maphash.MakeSeed(), cache: newLRU[map[string]any](size)}
}

// fields returns the generalised fields of ua as a fresh map the caller owns.
func (c *uaCache) fields(ua string) map[string]any {
	return maps.Clone(c.template(ua))
}

// template returns the cached generalised fields of ua, which nobody may change.
func (c *uaCache) template(ua string) map[string]any {
	h := maphash.String(c.seed, ua)
	tmpl, ok := c.cache.get(h)
	if !ok {
		tmpl = generaliseUA(ua)
		c.cache.put(h, tmpl)
	}
	return tmpl
}

// generaliseUA turns a user agent into the stored fields {browser_family,
// browser_major, os_family, os_major, device_brand, device_model, is_bot}, leaving
// out those it cannot tell. Every field comes from a closed vocabulary (browser and
// OS families, brands), digits (versions), or a device model token restricted to
// model-number characters, so that no free text of the user agent survives: a
// user agent can carry an app's user id or an email in a product comment.
func generaliseUA(s string) map[string]any {
	ua := useragent.Parse(s)
	out := make(map[string]any, 7)

	family, version := inAppBrowser(s)
	if family == "" {
		family, version = knownFamily(ua.Name), ua.Version
	}
	if family != "" {
		out["browser_family"] = family
		if major := leadingDigits(version); major != "" {
			out["browser_major"] = strings.Clone(major) // never pin the user agent in the cache
		}
	} else if strings.TrimSpace(s) != "" {
		out["browser_family"] = "Other"
	}

	if ua.OS != "" { // always one of the parser's OS constants
		out["os_family"] = ua.OS
		if major := leadingDigits(ua.OSVersion); major != "" {
			out["os_major"] = strings.Clone(major)
		}
	}

	brand, model := device(ua)
	if brand != "" {
		out["device_brand"] = brand
	}
	if model != "" {
		out["device_model"] = strings.Clone(model)
	}
	out["is_bot"] = ua.Bot || looksAutomated(s)
	return out
}

// inAppBrowsers recognises the in-app browsers of social and messaging apps, which
// mostly look like Mobile Safari or Chrome WebView plus an app token: their traffic
// matters (campaigns land in them) and the generic parse calls them Safari or
// misreads their version. Checked in order; the first token found wins.
var inAppBrowsers = []struct {
	token   string // substring that identifies the app
	family  string
	version string // token followed by the app version, "" for none
}{
	{"FBAN/MessengerForiOS", "Messenger", "FBAV/"},
	{"FBAN/Orca-Android", "Messenger", "FBAV/"},
	{"Instagram ", "Instagram", "Instagram "},
	{"FBAN/", "Facebook", "FBAV/"},
	{"FB_IAB/", "Facebook", "FBAV/"},
	{"musical_ly", "TikTok", "musical_ly_"},
	{"BytedanceWebview", "TikTok", "app_version/"},
	{"Snapchat/", "Snapchat", "Snapchat/"},
	{"Pinterest", "Pinterest", "Pinterest/"},
	{"LinkedInApp", "LinkedIn", "LinkedInApp/"},
	{"Twitter for iPhone", "Twitter", ""},
	{"TwitterAndroid", "Twitter", ""},
	{" Line/", "LINE", " Line/"},
	{"WhatsApp/", "WhatsApp", "WhatsApp/"},
	{"GSA/", "Google App", "GSA/"},
}

func inAppBrowser(s string) (family, version string) {
	for _, a := range inAppBrowsers {
		if strings.Contains(s, a.token) {
			if a.version != "" {
				if i := strings.Index(s, a.version); i >= 0 {
					version = s[i+len(a.version):]
				}
			}
			return a.family, version
		}
	}
	// Android WebView ("; wv)") inside an app the list does not know.
	if strings.Contains(s, "; wv)") {
		return "Android WebView", ""
	}
	return "", ""
}

// browserFamilies maps the names the parser reports (its constants, or the
// product token it found) to stored families. Any other name is "Other": the
// parser falls back to the first product token, or the whole user agent, which
// may be free text.
var browserFamilies = map[string]string{
	"Chrome": "Chrome", "Firefox": "Firefox", "Safari": "Safari", "Edge": "Edge",
	"Opera": "Opera", "Opera Mini": "Opera Mini", "Opera Touch": "Opera Touch",
	"Vivaldi": "Vivaldi", "Internet Explorer": "Internet Explorer",
	"Samsung Browser": "Samsung Browser", "Headless Chrome": "Headless Chrome",
	"Miui Browser": "Miui Browser", "Huawei Browser": "Huawei Browser",
	"Android browser": "Android Browser", "BlackBerry": "BlackBerry", "NetFront": "NetFront",
	"Instagram App": "Instagram", "Facebook App": "Facebook", "TikTok App": "TikTok",
	"YaBrowser": "Yandex Browser", "UCBrowser": "UC Browser", "DuckDuckGo": "DuckDuckGo",
	"Brave": "Brave", "Whale": "Whale", "Silk": "Silk", "Chromium": "Chromium",
	"SamsungBrowser": "Samsung Browser", "Ecosia": "Ecosia", "Puffin": "Puffin",
	// Bots and crawlers.
	"Googlebot": "Googlebot", "Bingbot": "Bingbot", "Applebot": "Applebot",
	"YandexBot": "YandexBot", "YandexAdNet": "YandexAdNet", "Google Ads Bot": "Google Ads Bot",
	"Bytespider": "Bytespider", "Twitterbot": "Twitterbot", "facebookexternalhit": "facebookexternalhit",
	"facebookcatalog": "facebookcatalog", "Yahoo Ad monitoring": "Yahoo Ad monitoring",
	"DuckDuckBot": "DuckDuckBot", "Baiduspider": "Baiduspider", "AhrefsBot": "AhrefsBot",
	"SemrushBot": "SemrushBot", "MJ12bot": "MJ12bot", "PetalBot": "PetalBot", "GPTBot": "GPTBot",
	"ClaudeBot": "ClaudeBot", "CCBot": "CCBot", "Slackbot": "Slackbot", "LinkedInBot": "LinkedInBot",
	"Discordbot": "Discordbot", "TelegramBot": "TelegramBot", "Pinterestbot": "Pinterestbot",
	"Amazonbot": "Amazonbot", "bingbot": "Bingbot",
	// HTTP libraries and tools: server-side trackers and scripts.
	"curl": "curl", "Wget": "Wget", "python-requests": "python-requests", "Go-http-client": "Go-http-client",
	"okhttp": "okhttp", "PostmanRuntime": "PostmanRuntime", "axios": "axios", "node-fetch": "node-fetch",
	"Java": "Java", "Dalvik": "Dalvik", "CFNetwork": "CFNetwork",
}

func knownFamily(name string) string { return browserFamilies[name] }

// automatedMarkers are lowercased substrings of user agents that no person's
// browser sends.
var automatedMarkers = []string{"bot", "crawl", "spider", "slurp", "headless", "lighthouse",
	"curl/", "wget/", "python-requests", "python-urllib", "go-http-client", "postmanruntime", "axios/", "node-fetch"}

func looksAutomated(s string) bool {
	l := strings.ToLower(s)
	for _, m := range automatedMarkers {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// device returns the brand and model of the device: Apple devices from the
// platform token, Android devices from the model token, whose brand is read from
// its well-known prefix.
func device(ua useragent.UserAgent) (brand, model string) {
	switch {
	case ua.Device == "iPhone" || ua.Device == "iPad":
		return "Apple", ua.Device
	case ua.OS == useragent.MacOS:
		return "Apple", "Mac"
	case ua.OS != useragent.Android:
		return "", ""
	}
	model = strings.TrimSpace(ua.Device)
	// "K" is what reduced Chrome user agents send instead of the model.
	if model == "K" || !modelToken(model) {
		return "", ""
	}
	lm := strings.ToLower(model)
	for _, b := range androidBrands {
		if strings.HasPrefix(lm, b.prefix) {
			return b.brand, model
		}
	}
	return "", model
}

// androidBrands maps the model-number prefixes of the largest Android makers
// (lowercased) to brands.
var androidBrands = []struct{ prefix, brand string }{
	{"sm-", "Samsung"}, {"gt-", "Samsung"}, {"samsung", "Samsung"}, {"galaxy", "Samsung"},
	{"pixel", "Google"}, {"nexus", "Google"},
	{"redmi", "Xiaomi"}, {"mi ", "Xiaomi"}, {"poco", "Xiaomi"}, {"xiaomi", "Xiaomi"},
	{"huawei", "Huawei"}, {"honor", "Honor"}, {"oneplus", "OnePlus"}, {"cph", "OPPO"},
	{"rmx", "realme"}, {"moto", "Motorola"}, {"xt", "Motorola"}, {"lm-", "LG"}, {"lg-", "LG"},
	{"nokia", "Nokia"}, {"xperia", "Sony"}, {"so-", "Sony"}, {"kf", "Amazon"},
	{"infinix", "Infinix"}, {"tecno", "Tecno"}, {"vivo", "vivo"}, {"asus", "ASUS"},
	{"lenovo", "Lenovo"}, {"zte", "ZTE"}, {"nothing", "Nothing"}, {"fairphone", "Fairphone"},
}

// modelToken reports whether s looks like a device model ("SM-S918B", "Pixel 8
// Pro", "moto g(60)"): short, and made of the characters model numbers use.
func modelToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ' || c == '-' || c == '_' || c == '.' || c == '+' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return true
}

// leadingDigits returns the major version at the start of v ("17_4_1" -> "17",
// "126.0.0.0" -> "126"), or "" when v does not start with a digit. Majors longer
// than 6 digits are build numbers, not versions, and are left out.
func leadingDigits(v string) string {
	v = strings.TrimSpace(v)
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	if n == 0 || n > 6 {
		return ""
	}
	return v[:n]
}
