// Sends one event of every example contract to the collector named on the command
// line, then prints the client's stats as JSON. Run by typescript_test.go.
import {
  AccordClient,
  ValidationError,
  SignupReferrerChannelValues,
  type CheckoutCompleted,
} from "./events";

declare const process: { argv: string[]; exitCode?: number };

async function main(endpoint: string): Promise<void> {
  const client = new AccordClient({ endpoint, batchSize: 3, flushIntervalMs: 10 });
  const checkout: CheckoutCompleted = {
    event_id: "0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10",
    shop_id: "shop_1",
    timestamp: "2025-03-01T12:30:00Z",
    user_id: "u_abc",
    platform: "web",
    session_number: 3,
    order_total_cents: 12900,
    currency: "EUR",
    coupon_code: null,
    device: { os: "macOS", locale: "en-GB" },
    items: [{ sku: "SKU-00001", quantity: 1, price_cents: 12900, category: "shoes" }],
  };
  client.trackCheckoutCompleted(checkout);
  client.trackSignup({ shop_id: "shop_1", email: "a@example.com", referrer_channel: SignupReferrerChannelValues[1] });
  client.trackPageView({ shop_id: "shop_1", anonymous_id: "anon-1", url: "https://shop.example/p/1", viewed_at: "2025-03-01T12:30:00Z", referrer: null, viewport: { width: 1280, height: 720 } });
  client.trackSearch({ shop_id: "shop_1", anonymous_id: "anon-1", query: "red shoes", result_count: 12, filters: [{ facet: "color", value: "red" }], sort: "price_asc" });
  client.trackDeliveryAddressUpdated({ shop_id: "shop_1", customer_id: "c_abc", order_id: "o_1", phone: "+447700900123", location: { latitude: 51.5, longitude: -0.12 }, updated_at: "2025-03-01T12:30:00Z" });

  // Plain JavaScript callers get the checks the types would have made.
  let problems = "";
  try {
    client.trackSearch(JSON.parse('{"shop_id": "shop_1", "anonymous_id": "a", "result_count": 1, "filters": [{"facet": "colour", "value": "red"}]}'));
  } catch (e) {
    if (e instanceof ValidationError) {
      problems = e.problems.map((p) => p.pointer).join(",");
    }
  }
  await client.close();
  console.log(JSON.stringify({ stats: client.stats(), problems }));
}

main(process.argv[2]).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
