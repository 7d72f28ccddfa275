package scrub

import "strings"

// callingCodes lists the ITU-T E.164 country calling codes in service (ITU-T
// E.164 Annex to Operational Bulletin; zone by zone). The set is prefix-free, so
// the longest matching prefix of a number is its only matching prefix. Shared
// codes (+1 for the North American Numbering Plan, +7 for Russia and Kazakhstan,
// +44 for the UK and its Crown Dependencies) are kept whole: the scrubber keeps
// the calling code, never the area code, which would narrow the subscriber down.
const callingCodes = "" +
	// Zone 1: North American Numbering Plan. Zone 7: Russia, Kazakhstan.
	"1 7 " +
	// Zone 2: Africa and the Atlantic.
	"20 27 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 " +
	"230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 " +
	"250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 " +
	"290 291 297 298 299 " +
	// Zones 3 and 4: Europe.
	"30 31 32 33 34 36 39 350 351 352 353 354 355 356 357 358 359 " +
	"370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386 387 389 " +
	"40 41 43 44 45 46 47 48 49 420 421 423 " +
	// Zone 5: the Americas south of the NANP.
	"51 52 53 54 55 56 57 58 500 501 502 503 504 505 506 507 508 509 " +
	"590 591 592 593 594 595 596 597 598 599 " +
	// Zone 6: South-East Asia and Oceania.
	"60 61 62 63 64 65 66 670 672 673 674 675 676 677 678 679 " +
	"680 681 682 683 685 686 687 688 689 690 691 692 " +
	// Zone 8: East Asia and global services.
	"81 82 84 86 800 808 850 852 853 855 856 870 878 881 882 883 886 888 " +
	// Zone 9: West, Central and South Asia and the Middle East.
	"90 91 92 93 94 95 98 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 " +
	"992 993 994 995 996 998"

// callingCodeSet holds callingCodes for lookups; it is filled once and only read.
var callingCodeSet = func() map[string]string {
	m := map[string]string{}
	for _, c := range strings.Fields(callingCodes) {
		m[c] = "+" + c
	}
	return m
}()

// phoneCallingCode returns the country calling code of an international number
// ("+44 20 7946 0958", "0044 20 7946 0958", "+1 (415) 555-0100") as "+44", and
// false when the number has no international prefix or an unassigned code: a
// national number names no country, and guessing one would store a wrong fact.
func phoneCallingCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "00"):
		s = s[2:]
	default:
		return "", false
	}
	// Collect the first three digits, allowing the separators people type; any
	// other character makes the number unparseable.
	var digits [3]byte
	n, total := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n < len(digits) {
				digits[n] = c
				n++
			}
			total++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			return "", false
		}
	}
	// E.164 numbers have at most 15 digits; fewer than 4 cannot reach a subscriber.
	if total < 4 || total > 15 {
		return "", false
	}
	for l := 1; l <= n; l++ {
		if cc, ok := callingCodeSet[string(digits[:l])]; ok {
			return cc, true
		}
	}
	return "", false
}
