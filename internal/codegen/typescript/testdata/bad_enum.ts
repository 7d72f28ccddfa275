// Must not compile: "tv" is not a SignupReferrerChannel.
import { AccordClient } from "./events";

const client = new AccordClient({ endpoint: "http://127.0.0.1:1" });
client.trackSignup({ shop_id: "shop_1", email: "a@example.com", referrer_channel: "tv" });
