import CostModel
import Foundation
import _FuzzSupport

// A libFuzzer target over the config parser: no input may crash it. Built normally, it
// replays the files given as arguments; built by `scripts/fuzz.sh config SECONDS`,
// libFuzzer drives it.

/// Parses one input and costs what parses; every failure must be a thrown error, and no
/// accepted config may overflow a count.
func check(_ bytes: UnsafeRawBufferPointer) {
  guard let a = try? HuggingFaceConfig.architecture(json: Data(bytes)) else { return }
  _ = (a.totalParameters, a.activeParameters, a.multiTokenPredictionParameters, a.visionTowerParameters)
  _ = (a.forwardFLOPsPerToken(context: 1 << 20), a.cacheBytes(context: 1 << 20, dataType: .fp32))
}

#if FUZZING
  /// libFuzzer's entry point: one input.
  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
  }

  /// The program's entry point under SwiftPM's renaming of `main`.
  @_cdecl("fuzz_config_main")
  public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
  }
#else
  @main
  enum Replay {
    static func main() throws { try FuzzDriver.replay(check) }
  }
#endif
