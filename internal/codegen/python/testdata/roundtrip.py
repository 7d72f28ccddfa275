"""Sends one event of every example contract to the collector named on the command
line, then prints the client's stats as JSON. Run by python_test.go."""

import json
import sys
from dataclasses import asdict

from events import (
    AccordClient,
    CheckoutCompleted,
    CheckoutCompletedDevice,
    CheckoutCompletedItemsItem,
    DeliveryAddressUpdated,
    DeliveryAddressUpdatedLocation,
    PageView,
    PageViewViewport,
    Search,
    SearchFiltersItem,
    Signup,
    ValidationError,
)


def main(endpoint: str) -> None:
    client = AccordClient(endpoint, batch_size=3, flush_interval=0.01)
    client.track_checkout_completed(
        CheckoutCompleted(
            event_id="0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10",
            shop_id="shop_1",
            timestamp="2025-03-01T12:30:00Z",
            user_id="u_abc",
            platform="web",
            session_number=3,
            order_total_cents=12900,
            currency="EUR",
            device=CheckoutCompletedDevice(os="macOS", locale="en-GB"),
            items=[CheckoutCompletedItemsItem(sku="SKU-00001", quantity=1, price_cents=12900, category="shoes")],
        )
    )
    client.track_signup(Signup(shop_id="shop_1", email="a@example.com", referrer_channel="paid_search"))
    client.track_page_view(
        PageView(
            shop_id="shop_1",
            anonymous_id="anon-1",
            url="https://shop.example/p/1",
            viewed_at="2025-03-01T12:30:00Z",
            viewport=PageViewViewport(width=1280, height=720),
        )
    )
    client.track_search(
        Search(
            shop_id="shop_1",
            anonymous_id="anon-1",
            query="red shoes",
            result_count=12,
            filters=[SearchFiltersItem(facet="color", value="red")],
            sort="price_asc",
        )
    )
    client.track_delivery_address_updated(
        DeliveryAddressUpdated(
            shop_id="shop_1",
            customer_id="c_abc",
            order_id="o_1",
            phone="+447700900123",
            location=DeliveryAddressUpdatedLocation(latitude=51.5, longitude=-0.12),
            updated_at="2025-03-01T12:30:00Z",
        )
    )
    problems = ""
    try:
        bad = Search(shop_id="shop_1", anonymous_id="a", query=None, result_count=1,  # type: ignore[arg-type]
                     filters=[SearchFiltersItem(facet="colour", value="red")])  # type: ignore[arg-type]
        client.track_search(bad)
    except ValidationError as e:
        problems = ",".join(p.pointer for p in e.problems)
    if not client.flush(10):
        raise SystemExit("flush timed out")
    if not client.close(10):
        raise SystemExit("close timed out")
    print(json.dumps({"stats": asdict(client.stats()), "problems": problems}))


if __name__ == "__main__":
    main(sys.argv[1])
