/// Decodes the `%XX` escapes of a URL part (user, password, host, database, option),
/// shared by the Redis and PostgreSQL URL parsers so that neither needs Foundation.
public enum PercentDecoding {
    /// Why a part could not be decoded; the text itself is never kept, as it may be a secret.
    public enum Failure: Error, Sendable, Equatable {
        /// A `%` not followed by two hex digits.
        case badEscape
        /// The decoded bytes are not UTF-8.
        case invalidUTF8
    }

    /// The text with every `%XX` replaced by its byte; other characters are kept as they are.
    public static func decode(_ text: some StringProtocol) throws(Failure) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .badEscape
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
