# Must not type-check: "tv" is not a SignupReferrerChannel.
from events import AccordClient, Signup

client = AccordClient("http://127.0.0.1:1")
client.track_signup(Signup(shop_id="shop_1", email="a@example.com", referrer_channel="tv"))
