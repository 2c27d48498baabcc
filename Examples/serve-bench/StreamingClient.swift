import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A blocking HTTP/1.1 client for one streamed request at a time, on a socket of its own: it
/// posts JSON and notes when each server-sent event arrives (chunked or not), which is what
/// time-to-first-token and inter-token latency are measured from.
struct StreamingClient {
  /// Why a request failed.
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// One answer: the HTTP status and each event's data with its arrival, in seconds after
  /// the request was sent.
  struct Answer {
    var status: Int
    var events: [(seconds: Double, data: String)]
  }

  let host: String
  let port: Int

  /// `http://host:port` (an IPv4 address, or `localhost`).
  init(url: String) throws {
    guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host
    else {
      throw Failure(description: "--url \(url) is not http://HOST:PORT")
    }
    self.host = host == "localhost" ? "127.0.0.1" : host
    port = components.port ?? 80
    var address = in_addr()
    guard inet_pton(AF_INET, self.host, &address) == 1 else {
      throw Failure(description: "--url \(url): give an IPv4 address or localhost")
    }
  }

  /// Posts `body` to `path` and reads the whole answer.
  func post(_ path: String, _ body: Data) throws -> Answer {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      throw Failure(description: "connect to \(host):\(port): \(String(cString: strerror(errno)))")
    }
    let start = Date()
    let head =
      "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    try send(fd, Data(head.utf8) + body)
    var buffer = [UInt8]()
    var answer = Answer(status: 0, events: [])
    var headerEnd: Int?
    var chunked = false
    var decoded = [UInt8]()  // the body, chunk framing removed
    var position = 0  // how far into `buffer` the body has been decoded
    var scanned = 0  // how far into `decoded` events have been split
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = recv(fd, &chunk, chunk.count, 0)
      if n < 0 { throw Failure(description: "recv: \(String(cString: strerror(errno)))") }
      let now = Date().timeIntervalSince(start)
      if n > 0 { buffer += chunk[0..<n] }
      if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: buffer, from: 0) {
        headerEnd = end + 4
        let header = String(decoding: buffer[0..<end], as: UTF8.self)
        answer.status = Int(header.split(separator: " ").dropFirst().first ?? "") ?? 0
        chunked = header.lowercased().contains("transfer-encoding: chunked")
        position = end + 4
      }
      if headerEnd != nil {
        if chunked {
          while let lineEnd = Self.find([13, 10], in: buffer, from: position) {
            let size =
              Int(
                String(decoding: buffer[position..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "",
                radix: 16) ?? 0
            guard buffer.count >= lineEnd + 2 + size + 2 else { break }
            decoded += buffer[(lineEnd + 2)..<(lineEnd + 2 + size)]
            position = lineEnd + 2 + size + 2
          }
        } else {
          decoded += buffer[position...]
          position = buffer.count
        }
        while let end = Self.find([10, 10], in: decoded, from: scanned) {
          let event = String(decoding: decoded[scanned..<end], as: UTF8.self)
          if event.hasPrefix("data: ") { answer.events.append((now, String(event.dropFirst(6)))) }
          scanned = end + 2
        }
      }
      if n == 0 { break }
    }
    if scanned < decoded.count, answer.events.isEmpty {
      answer.events.append(
        (Date().timeIntervalSince(start), String(decoding: decoded[scanned...], as: UTF8.self)))
    }
    return answer
  }

  func send(_ fd: Int32, _ data: Data) throws {
    var sent = 0
    let bytes = [UInt8](data)
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
      sent += n
    }
  }

  /// Where `needle` first starts in `haystack` at or after `from`.
  static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
    guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
    for i in from...(haystack.count - needle.count) where haystack[i] == needle[0] {
      if haystack[i..<i + needle.count].elementsEqual(needle) { return i }
    }
    return nil
  }
}
