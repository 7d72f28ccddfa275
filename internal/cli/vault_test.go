package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/app"
)

func runVault(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"vault"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestVaultCommandsShopifyExample replays Shopify's example through the CLI: one
// buyer, two shops, one token per shop; forgetting the buyer at shop B kills only
// B's token, forgetting everywhere kills both.
func TestVaultCommandsShopifyExample(t *testing.T) {
	data := t.TempDir()
	cfg := app.Default()
	cfg.Data = data
	ctx := context.Background()
	v, err := app.OpenVault(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const email = "buyer.cli-test@example.com"
	tokA, err := v.Tokenize(ctx, "shop_a", email, email)
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := v.Tokenize(ctx, "shop_b", email, email)
	if err != nil {
		t.Fatal(err)
	}
	if tokA == tokB {
		t.Fatal("the same email got the same token under two controllers")
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runVault(t, "detokenize", "--data", data, tokA, tokB)
	if code != ExitOK || strings.Count(out, email) != 2 {
		t.Fatalf("detokenize = %d %q %q", code, out, errOut)
	}
	// A value passed by mistake for a token is not printed back.
	const pasted = "not-a-token-jane@example.com"
	code, out, errOut = runVault(t, "detokenize", "--data", data, tokA, pasted)
	if code != ExitFindings || strings.Contains(out+errOut, pasted) || !strings.Contains(out, "(argument 2)\t(malformed token") || !strings.Contains(out, tokA+"\t"+email) {
		t.Fatalf("detokenize of a pasted value = %d %q %q", code, out, errOut)
	}
	code, out, errOut = runVault(t, "forget", "--data", data, "--subject", email, "--controller", "shop_b", "--actor", "dpo@acme")
	if code != ExitOK || !strings.Contains(out, "1 keys") {
		t.Fatalf("forget at shop_b = %d %q %q", code, out, errOut)
	}
	if strings.Contains(out, email) {
		t.Fatalf("forget printed the subject: %q", out)
	}
	code, out, _ = runVault(t, "detokenize", "--data", data, tokA, tokB)
	if code != ExitFindings || !strings.Contains(out, tokA+"\t"+email) || strings.Contains(out, tokB+"\t"+email) {
		t.Fatalf("after forgetting at shop_b: %d %q", code, out)
	}
	if code, out, _ = runVault(t, "forget", "--data", data, "--subject", email); code != ExitOK {
		t.Fatalf("forget everywhere = %d %q", code, out)
	}
	code, out, _ = runVault(t, "detokenize", "--data", data, tokA)
	if code != ExitFindings || strings.Contains(out, email) {
		t.Fatalf("after forgetting everywhere: %d %q", code, out)
	}
	code, out, _ = runVault(t, "audit", "--data", data)
	if code != ExitOK || !strings.Contains(out, "dpo@acme") || strings.Contains(out, email) {
		t.Fatalf("audit = %d %q (must name the actor, never the subject)", code, out)
	}
	if code, out, _ = runVault(t, "stats", "--data", data); code != ExitOK || !strings.Contains(out, "{") {
		t.Fatalf("stats = %d %q", code, out)
	}
	if code, _, errOut = runVault(t, "forget", "--data", data); code != ExitUsage || !strings.Contains(errOut, "--subject is required") {
		t.Fatalf("forget without --subject = %d %q", code, errOut)
	}
}
