package scrub

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
)

// realistic holds valid events for the example contracts, by contract name (by
// vendor/name where a name is shared between vendors): each validates against its
// contract as sent. Variants cover optional fields, nulls, IPv6 and several user
// agents.
var realistic = map[string][]string{
	"checkout_completed": {
		`{"event_id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","shop_id":"shop_1042","timestamp":"2026-11-01T12:34:56.789Z","user_id":"u_8f3a2c91","email":"jane.doe@example.com","ip":"81.2.69.142","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)","platform":"ios","app_version":"5.12.3","session_number":42,"order_total_cents":12999,"currency":"EUR","is_first_purchase":false,"coupon_code":null,"device":{"os":"iOS","os_version":"17.4.1","model":"iPhone15,2","locale":"de-DE"},"items":[{"sku":"SKU-10023","quantity":2,"price_cents":4999,"category":"shoes"},{"sku":"SKU-20411","quantity":1,"price_cents":3001,"category":"accessories"}]}`,
		`{"event_id":"7a1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2b","shop_id":"shop_7","timestamp":"2026-11-01T12:34:56Z","user_id":"u_1","platform":"web","session_number":1,"order_total_cents":0,"currency":"GBP","coupon_code":"WELCOME10","device":{"os":"Windows"},"items":[{"sku":"SKU-00001","quantity":1,"price_cents":0}],"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","ip":"10.0.0.1"}`,
	},
	"delivery_address_updated": {
		`{"shop_id":"shop_1042","customer_id":"c_8f3a2c91","order_id":"o_123","phone":"+442079460958","recipient_name":"Jane Doe","delivery_note":"Leave with the neighbour at number 12","postal_code":"SW1A 1AA","country":"GB","location":{"latitude":51.50735,"longitude":-0.12776,"accuracy_m":12.5},"updated_at":"2026-11-01T12:34:56Z"}`,
		`{"shop_id":"shop_2","customer_id":"c_x","order_id":"o_9","phone":"+33123456789","location":{"latitude":-33.86785,"longitude":151.20732},"updated_at":"2026-11-01T12:34:56Z"}`,
	},
	"page_view": {
		`{"shop_id":"shop_1042","anonymous_id":"a1b2c3d4-e5f6","url":"https://shop.example/products/runner?utm_source=newsletter&email=jane%40example.com#reviews","referrer":"https://www.google.com/search?q=jane+doe+running+shoes","title":"Runner","page_type":"product","viewed_at":"2026-11-01T12:34:56Z","viewport":{"width":390,"height":844},"ip":"2a02:8108:1140:5e00:1c2d:3e4f:5a6b:7c8d","user_agent":"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"}`,
		`{"shop_id":"shop_1","anonymous_id":"x","url":"https://shop.example/?ref=mail_42","referrer":null,"viewed_at":"2026-11-01T12:34:56Z","ip":"not-an-ip","user_agent":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}`,
	},
	"com.snowplowanalytics.snowplow/page_view": {
		`{"page_url":"https://shop.example/account?email=jane%40example.com&token=5f2b#orders","page_title":"Your orders","page_referrer":"https://mail.example/inbox?q=jane+doe"}`,
		`{"page_url":"https://shop.example/?ref=mail_42"}`,
	},
	"com.snowplowanalytics.snowplow/page_ping": {
		`{"page_url":"https://shop.example/products/runner?utm_source=newsletter&uid=jane.doe","page_title":"Runner","page_referrer":"https://www.google.com/search?q=jane+doe+running+shoes","pp_xoffset_min":0,"pp_xoffset_max":0,"pp_yoffset_min":120,"pp_yoffset_max":2400}`,
		`{"page_url":"https://shop.example/blog/post-1?session=abcdef123456"}`,
	},
	"com.snowplowanalytics.snowplow/structured_event": {
		`{"se_category":"video","se_action":"play","se_label":"intro-video","se_property":"hd","se_value":12.5}`,
		`{"se_category":"form","se_action":"submit"}`,
	},
	"com.snowplowanalytics.snowplow/web_page": {
		`{"id":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}`,
	},
	// As the browser tracker (contexts.session, contexts.browser) and a mobile
	// tracker send them.
	"com.snowplowanalytics.snowplow/client_session": {
		`{"userId":"9b2c4e1a-7f3d-4c8e-a1b2-3c4d5e6f7a8b","sessionId":"69b78cd6-29c6-4e3d-8e2b-0746f296e4ce","sessionIndex":3,"eventIndex":12,"previousSessionId":"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d","storageMechanism":"COOKIE_1","firstEventId":"7fe59968-58ef-4ec3-aa9e-0ac23a39e199","firstEventTimestamp":"2026-11-01T12:34:56.789Z"}`,
		`{"userId":"0123456789abcdef","sessionId":"b4c5d6e7-f809-4a1b-9c2d-3e4f5a6b7c8d","sessionIndex":1,"previousSessionId":null,"storageMechanism":"SQLITE","firstEventId":null}`,
	},
	// As the browser tracker's link click and performance timing plugins send them.
	"com.snowplowanalytics.snowplow/link_click": {
		`{"targetUrl":"https://shop.example/account/orders?email=jane%40example.com&token=5f2b","elementId":"orders","elementClasses":["nav","nav-orders"],"elementTarget":"_self","elementContent":"Jane Doe's orders"}`,
		`{"targetUrl":"mailto:jane.doe@example.com"}`,
	},
	// As the browser tracker's form tracking sends them: what the visitor typed
	// is in the values.
	"com.snowplowanalytics.snowplow/focus_form": {
		`{"formId":"signup","elementId":"email","nodeName":"INPUT","elementType":"email","elementClasses":["field"],"value":"jane.doe@example.com"}`,
		`{"formId":"search","elementId":"q","nodeName":"TEXTAREA","elementClasses":null,"value":null}`,
	},
	"com.snowplowanalytics.snowplow/change_form": {
		`{"formId":"signup","elementId":"name","nodeName":"INPUT","type":"text","elementClasses":["field","required"],"value":"Jane Doe"}`,
		`{"formId":"address","elementId":"country","nodeName":"SELECT","value":"GB"}`,
	},
	"com.snowplowanalytics.snowplow/submit_form": {
		`{"formId":"signup","formClasses":["signup-form"],"elements":[{"name":"email","value":"jane.doe@example.com","nodeName":"INPUT","type":"email"},{"name":"name","value":"Jane Doe","nodeName":"INPUT","type":"text"},{"name":"note","value":null,"nodeName":"TEXTAREA"}]}`,
		`{"formId":"newsletter","elements":[{"name":"email","value":"a@example.com","nodeName":"INPUT","type":"email"}]}`,
	},
	// As the GA cookies plugin sends them (the UA cookies; some absent).
	"com.google.analytics/cookies": {
		`{"__utma":"111872281.1234567890.1796600000.1796640000.1796650000.3","__utmb":"111872281.2.10.1796650000","__utmc":"111872281","__utmz":"111872281.1796650000.1.1.utmcsr=google|utmccn=(organic)|utmcmd=organic|utmctr=jane%20doe%20shoes","_ga":"GA1.1.1234567890.1796600000"}`,
		`{"_ga":"GA1.2.987654321.1796600000","__utmv":"111872281.|1=customer=c_8f3a2c91=1"}`,
	},
	"org.w3/PerformanceTiming": {
		`{"navigationStart":1796652190100,"redirectStart":0,"redirectEnd":0,"fetchStart":1796652190102,"domainLookupStart":1796652190102,"domainLookupEnd":1796652190102,"connectStart":1796652190102,"secureConnectionStart":0,"connectEnd":1796652190102,"requestStart":1796652190105,"responseStart":1796652190109,"responseEnd":1796652190110,"unloadEventStart":0,"unloadEventEnd":0,"domLoading":1796652190115,"domInteractive":1796652190160,"domContentLoadedEventStart":1796652190160,"domContentLoadedEventEnd":1796652190161,"domComplete":1796652190230,"loadEventStart":1796652190230,"loadEventEnd":1796652190231}`,
		`{"navigationStart":1796652190100,"chromeFirstPaint":1796652190190}`,
	},
	"com.snowplowanalytics.snowplow/browser_context": {
		`{"viewport":"1280x720","documentSize":"1280x2410","resolution":"2560x1440","colorDepth":24,"devicePixelRatio":2,"cookiesEnabled":true,"online":true,"browserLanguage":"de-DE","documentLanguage":"de","webdriver":false,"deviceMemory":8,"hardwareConcurrency":8,"tabId":"5c8f8950-3c92-4645-b4e6-f2139358c560"}`,
		`{"viewport":"390x844","documentSize":"390x3000","resolution":"390x844","colorDepth":32,"devicePixelRatio":null,"cookiesEnabled":false,"online":true,"browserLanguage":null,"tabId":"0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"}`,
	},
	// As Snowplow's mobile trackers send them (Android first, then iOS).
	"iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-1": {
		`{"osType":"android","osVersion":"8.1.0","deviceManufacturer":"motorola","deviceModel":"moto g(6)","carrier":"O2 - UK","networkType":"mobile","networkTechnology":"LTE","androidIdfa":"7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"}`,
		`{"osType":"ios","osVersion":"12.4","deviceManufacturer":"Apple Inc.","deviceModel":"iPhone10,4","carrier":null,"networkType":"wifi","openIdfa":"0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0","appleIdfv":"C2D3E4F5-A6B7-4C8D-9E0F-1A2B3C4D5E6F"}`,
	},
	"iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-2": {
		`{"osType":"android","osVersion":"11","deviceManufacturer":"Google","deviceModel":"Pixel 4a","carrier":"EE","networkType":"wifi","networkTechnology":null,"androidIdfa":"9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","physicalMemory":5812345856,"systemAvailableMemory":1147483648,"batteryLevel":12,"batteryState":"charging","availableStorage":1234567890,"totalStorage":128000000000}`,
		`{"osType":"ios","osVersion":"15.7","deviceManufacturer":"Apple Inc.","deviceModel":"iPhone12,8","appleIdfv":"B1C2D3E4-F5A6-4B7C-8D9E-0F1A2B3C4D5E","appAvailableMemory":1073741824,"lowPowerMode":true}`,
	},
	"iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-3": {
		`{"osType":"android","osVersion":"14","deviceManufacturer":"samsung","deviceModel":"SM-S918B","carrier":"Vodafone UK","networkType":"mobile","networkTechnology":"NR","androidIdfa":"38400000-8cf0-11bd-b23e-10b96e40000d","physicalMemory":7812345856,"systemAvailableMemory":2147483648,"batteryLevel":64,"batteryState":"unplugged","availableStorage":51234567890,"totalStorage":256000000000,"isPortrait":true,"resolution":"1080x2340","scale":2.625,"language":"en","appSetId":"5c8f8950-3c92-4645-b4e6-f2139358c560","appSetIdScope":"developer"}`,
		`{"osType":"ios","osVersion":"17.4.1","deviceManufacturer":"Apple Inc.","deviceModel":"iPhone15,2","carrier":null,"networkType":"wifi","networkTechnology":null,"appleIdfa":"6D92078A-8246-4BA4-AE5B-76104861E7DC","appleIdfv":"A7F3C9E1-2B4D-4C6E-9F1A-7B8C9D0E1F2A","physicalMemory":6442450944,"appAvailableMemory":3221225472,"batteryLevel":100,"batteryState":"full","lowPowerMode":false,"availableStorage":12345678901,"totalStorage":128000000000,"isPortrait":false,"resolution":"1179x2556","scale":3,"language":"de"}`,
	},
	"com.snowplowanalytics.snowplow/geolocation_context": {
		`{"latitude":51.507351,"longitude":-0.127758,"latitudeLongitudeAccuracy":12.5,"altitude":35.2,"altitudeAccuracy":3,"bearing":270.5,"speed":1.4,"timestamp":1796652190100}`,
		`{"latitude":-33.86785,"longitude":151.20732,"latitudeLongitudeAccuracy":-1,"altitude":null,"bearing":null,"speed":null,"timestamp":null}`,
	},
	"com.snowplowanalytics.mobile/application": {
		`{"version":"5.12.3","build":"5123"}`,
	},
	"com.snowplowanalytics.mobile/screen": {
		`{"name":"ProductDetail","type":"product","id":"2c4d6e8f-1a3b-4c5d-8e9f-0a1b2c3d4e5f","activity":"ProductActivity","fragment":"ProductDetailFragment"}`,
		`{"name":"Cart","id":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","viewController":"CartViewController","topViewController":"UINavigationController"}`,
	},
	// trackScreenView of the server trackers and the JavaScript tracker's core.
	"com.snowplowanalytics.snowplow/screen_view": {
		`{"name":"home","id":"5e2da0c7-7ec5-4a11-8fa0-6a22bb19bd77"}`,
		`{"name":"checkout"}`,
		`{"id":"screen-42"}`,
	},
	"com.snowplowanalytics.mobile/screen_view": {
		`{"name":"ProductDetail","type":"product","id":"2c4d6e8f-1a3b-4c5d-8e9f-0a1b2c3d4e5f","previousName":"Home","previousId":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21","previousType":"feed","transitionType":"push"}`,
		`{"name":"Home","id":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}`,
	},
	"com.snowplowanalytics.mobile/application_install": {`{}`},
	"com.snowplowanalytics.mobile/screen_end":          {`{}`},
	"com.snowplowanalytics.mobile/application_lifecycle": {
		`{"isVisible":true,"index":3}`,
		`{"isVisible":false}`,
	},
	"com.snowplowanalytics.mobile/screen_summary": {
		`{"foreground_sec":12.3,"background_sec":0,"last_item_index":17,"items_count":40,"min_x_offset":0,"max_x_offset":0,"min_y_offset":0,"max_y_offset":2310,"content_width":1080,"content_height":9600}`,
		`{"foreground_sec":1.5,"background_sec":null}`,
	},
	"com.snowplowanalytics.mobile/deep_link": {
		`{"url":"shopapp://account/reset?token=5f2b9c&email=jane.doe%40example.com","referrer":"https://mail.example/inbox?q=jane+doe"}`,
		`{"url":"https://shop.example/p/runner?utm_source=newsletter&utm_campaign=spring"}`,
	},
	"com.snowplowanalytics.snowplow/application_foreground": {`{"foregroundIndex":2}`, `{}`},
	"com.snowplowanalytics.snowplow/application_background": {`{"backgroundIndex":2}`},
	// Android sends 1-0-0, iOS 1-0-2; the message quotes what the app was given.
	"iglu:com.snowplowanalytics.snowplow/application_error/jsonschema/1-0-0": {
		`{"programmingLanguage":"KOTLIN","message":"Invalid email: jane.doe@example.com","threadName":"main","threadId":2,"stackTrace":"java.lang.IllegalArgumentException: Invalid email: jane.doe@example.com\n\tat com.acme.shop.SignupViewModel.submit(SignupViewModel.kt:42)","lineNumber":42,"className":"com.acme.shop.SignupViewModel","exceptionName":"java.lang.IllegalArgumentException","isFatal":true}`,
		`{"programmingLanguage":"JAVA","message":"Attempt to invoke virtual method on a null object reference","stackTrace":null}`,
	},
	"iglu:com.snowplowanalytics.snowplow/application_error/jsonschema/1-0-2": {
		`{"programmingLanguage":"SWIFT","message":"Could not parse the address for Jane Doe","threadName":"com.apple.main-thread","threadId":1,"stackTrace":"0 ShopApp 0x0000000100a1b2c3 AddressParser.parse + 120","causeStackTrace":null,"lineNumber":88,"lineColumn":17,"fileName":"AddressParser.swift","className":"AddressParser","exceptionName":"NSInvalidArgumentException","isFatal":false}`,
	},
	"search": {
		`{"shop_id":"shop_1042","anonymous_id":"a1b2c3d4","query":"jane doe 12 high street","result_count":3,"filters":[{"facet":"size","value":"42"},{"facet":"color","value":"red"}],"sort":"price_asc","latency_ms":12.7}`,
		`{"shop_id":"shop_1","anonymous_id":"z","query":"x","result_count":0}`,
	},
	"signup": {
		`{"shop_id":"shop_1042","email":"Jane.Doe@Example.com","ip":"81.2.69.142","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15","marketing_opt_in":true,"referrer_channel":"paid_search"}`,
		`{"shop_id":"shop_1","email":"bob@example.org"}`,
	},
}

// realisticFor returns the realistic events of a contract: those listed under
// its URI (where versions of one contract differ), else its vendor/name, else
// its name.
func realisticFor(k contract.Key) []string {
	if evs, ok := realistic[k.String()]; ok {
		return evs
	}
	if evs, ok := realistic[k.Vendor+"/"+k.Name]; ok {
		return evs
	}
	return realistic[k.Name]
}

// TestStoredShapeProperty is the scrubber's contract with everything downstream:
// for every example contract and the reference contract, a scrubbed realistic
// event validates against the contract's stored shape (contract.StoredDoc), and
// no PII value of the sent event survives where the contract does not keep it.
func TestStoredShapeProperty(t *testing.T) {
	contracts := loadContracts(t, examplesDir)
	if _, err := os.Stat(benchDir); err != nil {
		t.Errorf("the reference workload is not at %s (%v): the reference contract is not checked", benchDir, err)
	} else {
		bc, raw := benchContract(t)
		contracts = append(contracts, bc)
		realistic["bench:"+bc.Key.String()] = []string{string(raw)}
	}
	tok := newHMACTokenizer()
	path := writeCityDB(t, "GeoLite2-City", map[string][4]string{
		"81.2.69.0/24": {"GB", "England", "ENG", "London"}, "2a02:8108::/32": {"DE", "Berlin", "BE", "Berlin"},
	})
	s := newScrubber(t, Config{MMDBPath: path}, tok)
	seen := map[string]bool{}
	for _, c := range contracts {
		events := realisticFor(c.Key)
		if bench, ok := realistic["bench:"+c.Key.String()]; ok {
			events = bench
		}
		if len(events) == 0 {
			t.Errorf("no realistic event for %s: add one to the table", c.Key)
			continue
		}
		seen[c.Key.Name] = true
		sent, problems := contract.CompileOne(c)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		for i, ev := range events {
			t.Run(c.Key.String()+"/"+string(rune('a'+i)), func(t *testing.T) {
				data := decode(t, []byte(ev))
				if fs := sent.Validate(data); len(fs) > 0 {
					t.Fatalf("the test event does not match the contract as sent: %v", fs)
				}
				raws := piiValues(c, data)
				applied, err := s.Scrub(context.Background(), c, data)
				if err != nil {
					t.Fatal(err)
				}
				if len(applied) == 0 && len(c.PII()) > 0 {
					t.Error("nothing applied")
				}
				assertStored(t, c, data)
				out := string(mustJSON(t, data))
				for _, raw := range raws {
					if strings.Contains(out, raw) {
						t.Errorf("the scrubbed event still contains a raw PII value: %s", out)
					}
				}
			})
		}
	}
	for _, name := range []string{"checkout_completed", "delivery_address_updated", "page_view", "search", "signup"} {
		if !seen[name] {
			t.Errorf("example contract %s was not loaded", name)
		}
	}
}

// piiValues collects the raw strings (at least 6 characters long, so that a
// generalisation such as a postal area is not mistaken for a leak) at the PII
// paths of data whose handling is not keep.
func piiValues(c *contract.Contract, data any) []string {
	var out []string
	var walk func(v any, path []string)
	walk = func(v any, path []string) {
		if len(path) == 0 {
			if s, ok := v.(string); ok && len(s) >= 6 {
				out = append(out, s)
			}
			return
		}
		switch n := v.(type) {
		case map[string]any:
			walk(n[path[0]], path[1:])
		case []any:
			if path[0] == "*" {
				for _, item := range n {
					walk(item, path[1:])
				}
			}
		}
	}
	for _, f := range c.PII() {
		if f.PII.Handling != contract.HandlingKeep {
			walk(data, f.Path)
		}
	}
	return out
}
