# send.rb drives accord serve with Snowplow's Ruby tracker as Debian packages it
# (ruby-snowplow-tracker, 0.6.1: an older tracker still in use), by POST and by
# GET. TestRubyTracker (trackers_test.go) runs it:
#
#   ruby send.rb <collector URL> <email>
#
# It prints the report of send.cjs on stdout: every request the tracker made
# (recorded by wrapping Net::HTTP, which the tracker sends with; nothing in the
# tracker changed) and every failure it reported.
require 'json'
require 'logger'
require 'net/http'
require 'uri'
require 'snowplow-tracker'

collector, email = ARGV
abort 'usage: ruby send.rb <collector URL> <email>' if collector.nil? || email.nil?
uri = URI(collector)
report = { 'requests' => [], 'errors' => [] }
$current_lib = ''

# Recorder lists each request as it is sent, with the event ids it carries, and
# adds the collector's answer.
module Recorder
  def request(req, body = nil, &block)
    # Net::HTTP starts the connection and calls request again: record once.
    return super unless started?

    path, query = req.path.split('?', 2)
    ids = if path == '/i'
            [URI.decode_www_form(query.to_s).to_h['eid']]
          else
            JSON.parse(req.body)['data'].map { |e| e['eid'] }
          end
    entry = { 'lib' => $current_lib, 'method' => req.method, 'path' => path, 'status' => 0, 'ids' => ids, 'answer' => nil }
    $report['requests'] << entry
    resp = super
    entry['status'] = resp.code.to_i
    entry['answer'] = (JSON.parse(resp.body) rescue nil)
    resp
  end
end
$report = report
Net::HTTP.prepend(Recorder)
SnowplowTracker::LOGGER.level = Logger::WARN

# The same four events through a tracker of each method: a signup (with the
# web_page entity), a page view whose URL carries the email in its query, a
# structured event and a signup that breaks its contract.
%w[post get].each do |method|
  lib = "snowplow-ruby-#{method}"
  $current_lib = lib
  emitter = SnowplowTracker::Emitter.new(uri.host, {
    :port => uri.port, :method => method, :buffer_size => (method == 'post' ? 10 : 1),
    :on_failure => lambda { |n, failed| report['errors'] << { 'lib' => lib, 'status' => 0, 'error' => "#{failed.size} event(s) not sent" } }
  })
  tracker = SnowplowTracker::Tracker.new(emitter, nil, 'accord-test', 'shop-ruby', true)
  web_page = SnowplowTracker::SelfDescribingJson.new('iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', { 'id' => '0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10' })
  tracker.track_self_describing_event(SnowplowTracker::SelfDescribingJson.new('iglu:com.acme/signup/jsonschema/1-0-0', { 'shop_id' => 'shop_7', 'email' => email }), [web_page])
  tracker.track_page_view("https://shop.example/cart?email=#{URI.encode_www_form_component(email)}", 'Cart')
  tracker.track_struct_event('cart', 'add', 'sku-1', 'size', 3)
  tracker.track_self_describing_event(SnowplowTracker::SelfDescribingJson.new('iglu:com.acme/signup/jsonschema/1-0-0', { 'shop_id' => 'not-a-shop', 'email' => email }))
  tracker.flush
end
puts JSON.generate(report)
