import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_TYPE_UNSPECIFIED: _ClassVar[ConnectionType]
    SQL: _ClassVar[ConnectionType]
    GRPC: _ClassVar[ConnectionType]
    API: _ClassVar[ConnectionType]
    S3: _ClassVar[ConnectionType]
    FILE: _ClassVar[ConnectionType]

class CallerAccess(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALLER_ACCESS_UNSPECIFIED: _ClassVar[CallerAccess]
    NONE: _ClassVar[CallerAccess]
    REQUESTED: _ClassVar[CallerAccess]
    GRANTED: _ClassVar[CallerAccess]
CONNECTION_TYPE_UNSPECIFIED: ConnectionType
SQL: ConnectionType
GRPC: ConnectionType
API: ConnectionType
S3: ConnectionType
FILE: ConnectionType
CALLER_ACCESS_UNSPECIFIED: CallerAccess
NONE: CallerAccess
REQUESTED: CallerAccess
GRANTED: CallerAccess

class Connection(_message.Message):
    __slots__ = ("id", "name", "description", "type", "contract", "connection_string", "connection_string_redacted", "owner_user_ids", "created_by", "created_at", "updated_at", "caller_access", "caller_access_types")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STRING_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STRING_REDACTED_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CALLER_ACCESS_FIELD_NUMBER: _ClassVar[int]
    CALLER_ACCESS_TYPES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    type: ConnectionType
    contract: str
    connection_string: str
    connection_string_redacted: str
    owner_user_ids: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    caller_access: CallerAccess
    caller_access_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[ConnectionType, str]] = ..., contract: _Optional[str] = ..., connection_string: _Optional[str] = ..., connection_string_redacted: _Optional[str] = ..., owner_user_ids: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caller_access: _Optional[_Union[CallerAccess, str]] = ..., caller_access_types: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateConnectionRequest(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ...) -> None: ...

class CreateConnectionResponse(_message.Message):
    __slots__ = ("result", "connection_id", "owner_user_ids")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    result: bool
    connection_id: str
    owner_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, result: _Optional[bool] = ..., connection_id: _Optional[str] = ..., owner_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateConnectionRequest(_message.Message):
    __slots__ = ("connection", "update_mask")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateConnectionResponse(_message.Message):
    __slots__ = ("result", "connection")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    result: bool
    connection: Connection
    def __init__(self, result: _Optional[bool] = ..., connection: _Optional[_Union[Connection, _Mapping]] = ...) -> None: ...

class GetConnectionRequest(_message.Message):
    __slots__ = ("connection_id",)
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class GetConnectionResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ...) -> None: ...

class GetAllConnectionRequest(_message.Message):
    __slots__ = ("type", "page_size", "page_token")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    type: ConnectionType
    page_size: int
    page_token: str
    def __init__(self, type: _Optional[_Union[ConnectionType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetAllConnectionResponse(_message.Message):
    __slots__ = ("connections", "next_page_token")
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[Connection]
    next_page_token: str
    def __init__(self, connections: _Optional[_Iterable[_Union[Connection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TestConnectionRequest(_message.Message):
    __slots__ = ("connection_id", "timeout_seconds")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    timeout_seconds: int
    def __init__(self, connection_id: _Optional[str] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class TestConnectionResponse(_message.Message):
    __slots__ = ("ok", "message", "duration_ms", "tested_at")
    OK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    message: str
    duration_ms: int
    tested_at: _timestamp_pb2.Timestamp
    def __init__(self, ok: _Optional[bool] = ..., message: _Optional[str] = ..., duration_ms: _Optional[int] = ..., tested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
