// Must not compile: signup requires shop_id.
import { AccordClient } from "./events";

const client = new AccordClient({ endpoint: "http://127.0.0.1:1" });
client.trackSignup({ email: "a@example.com" });
