import Foundation
import ModelIO
import _FuzzSupport

// A libFuzzer target over the tokenizer.json reader (and encoding and decoding with what it
// accepts) and over chat templates (the input read as a template and rendered on a small
// conversation): no input may crash it. Built normally, it
// replays the files given as arguments; built by `scripts/fuzz.sh tokenizer SECONDS`,
// libFuzzer drives it.

/// Parses one input; every failure must be a thrown error.
func check(_ bytes: UnsafeRawBufferPointer) {
  if let template = try? ChatTemplate(String(decoding: bytes, as: UTF8.self)) {
    _ = try? template.render(
      messages: [["role": "system", "content": "s"], ["role": "user", "content": "u"]],
      addGenerationPrompt: true)
  }
  guard let tokenizer = try? BPETokenizer(json: Data(bytes)) else { return }
  if let ids = try? tokenizer.encode("héllo wörld 123 \u{1F600}\n  <|endoftext|>", addSpecialTokens: true) {
    _ = try? tokenizer.decode(ids)
  }
  _ = try? tokenizer.decode([0, 1, 2, tokenizer.vocabularySize, -1])
}

#if FUZZING
  /// libFuzzer's entry point: one input.
  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
  }

  /// The program's entry point under SwiftPM's renaming of `main`.
  @_cdecl("fuzz_tokenizer_main")
  public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
  }
#else
  @main
  enum Replay {
    static func main() throws { try FuzzDriver.replay(check) }
  }
#endif
