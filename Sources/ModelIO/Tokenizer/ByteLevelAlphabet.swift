import Foundation

/// GPT-2's byte-to-unicode table, which lets BPE work on printable characters while
/// covering every byte: bytes 33–126, 161–172 and 174–255 stand for the character of the
/// same code; the other 68 bytes (control characters, space, 127–160, 173) for
/// U+0100, U+0101, … in byte order (so a space is `Ġ`, U+0120, and a newline `Ċ`).
enum ByteLevelAlphabet {
  /// Byte → its character.
  static let characters: [Character] = {
    var table = [Character](repeating: " ", count: 256)
    var next = 256
    for byte in 0..<256 {
      let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
      table[byte] = Character(Unicode.Scalar(printable ? byte : next)!)
      if !printable { next += 1 }
    }
    return table
  }()

  /// Character (scalar) → its byte.
  static let bytes: [Unicode.Scalar: UInt8] = {
    var map: [Unicode.Scalar: UInt8] = [:]
    for (byte, character) in characters.enumerated() { map[character.unicodeScalars.first!] = UInt8(byte) }
    return map
  }()

  /// GPT-2's pre-tokenizer regex, compiled once.
  static let gpt2 = try! NSRegularExpression(pattern: BPETokenizer.gpt2Pattern)

  /// `text`'s UTF-8 bytes as characters of the table.
  static func encode(_ text: String) -> String {
    String(text.utf8.map { characters[Int($0)] })
  }

  /// The byte a character of the table stands for, or `nil` for any other character.
  static func byte(for scalar: Unicode.Scalar) -> UInt8? { bytes[scalar] }
}
