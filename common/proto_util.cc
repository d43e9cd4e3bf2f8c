#include "common/proto_util.h"

#include <memory>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "common/crypto.h"

namespace kentra {

std::string DigestWithout(const google::protobuf::Message& message,
                          std::initializer_list<const char*> cleared_fields) {
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  copy->CopyFrom(message);
  for (const char* name : cleared_fields) {
    if (const auto* f = copy->GetDescriptor()->FindFieldByName(name)) {
      copy->GetReflection()->ClearField(copy.get(), f);
    }
  }
  std::string bytes = copy->GetDescriptor()->full_name() + "\n";
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Digest(bytes);
}

}  // namespace kentra
