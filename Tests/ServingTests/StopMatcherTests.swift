import Testing

@testable import Serving

/// Stop strings cut the text at the earliest one, across token boundaries, and nothing that
/// may still become one is sent early.
@Suite struct StopMatcherTests {
  @Test func holdsBackWhatMayBecomeAStopString() {
    var matcher = StopMatcher(stops: ["END", "\n\n"])
    #expect(matcher.append("Hello E") == "Hello ")
    #expect(matcher.append("N") == "")
    #expect(matcher.append("Dless") == "" && matcher.stopped)
    #expect(matcher.append("more") == "" && matcher.finish() == "")
    var other = StopMatcher(stops: ["END"])
    #expect(other.append("x EN") == "x ")
    #expect(other.append("ough") == "ENough")
    #expect(other.append(" E") == " ")
    #expect(other.finish() == "E" && !other.stopped)
  }

  @Test func theEarliestStopWinsAndNoStopsPassEverything() {
    var matcher = StopMatcher(stops: ["b", "a"])
    #expect(matcher.append("xxbyya") == "xx" && matcher.stopped)
    var none = StopMatcher(stops: [])
    #expect(none.append("abc") == "abc" && none.finish() == "")
  }
}
