"""Organisational units and users (administration), passwords."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from ..auth import check_username, hash_password, revoke_user_tokens, verify_password
from ..limits import ValidationFailed, clean_name, to_text
from ..models import ROLES, UNIT_KINDS, OrgUnit, User
from ..rbac import NotFound, PermissionDenied, can_manage_users, require
from .base import AlreadyExists, ServiceBase


class UsersMixin(ServiceBase):
    """Units, users and passwords."""

    def create_unit(self, code: str, name: str, kind: str, parent: int | str | None = None) -> OrgUnit:
        require(can_manage_users(self.p) or self.p.is_supervisor, "只有管理员或局机关可以维护单位")
        if kind not in UNIT_KINDS:
            raise ValidationFailed(f"单位类型应为 {'/'.join(UNIT_KINDS)}")
        code = to_text(code, "单位编码", max_len=64, required=True)  # type: ignore[assignment]
        name = clean_name(to_text(name, "单位名称", max_len=200, required=True) or "")
        if not name:
            raise ValidationFailed("单位名称不能为空")
        if self.s.execute(select(OrgUnit.id).where(or_(OrgUnit.code == code, OrgUnit.name == name))).first():
            raise AlreadyExists(f"单位编码 {code} 或名称 {name} 已存在")
        parent_unit = self.unit(parent) if parent is not None else None
        u = OrgUnit(code=code, name=name, kind=kind, parent_id=parent_unit.id if parent_unit else None, active=True)
        self.s.add(u)
        self.s.flush()
        u.district_id = u.id if kind == "district" else (parent_unit.district_id if parent_unit else None)
        self._audit("unit.create", "org_unit", u.id, after={"code": code, "name": name, "kind": kind,
                                                            "parent": parent_unit.name if parent_unit else None})
        return u

    def create_user(self, username: str, password: str, role: str, unit: int | str | None = None,
                    display_name: str | None = None) -> User:
        require(can_manage_users(self.p), "只有系统管理员可以添加用户")
        if role not in ROLES:
            raise ValidationFailed(f"角色应为 {'/'.join(ROLES)}")
        username = check_username(username)
        if self.user_by_name(username) is not None:
            raise AlreadyExists(f"用户名 {username} 已存在（用户名不区分大小写）")
        display_name = self._free_display_name(display_name or username)
        u = self.unit(unit) if unit is not None else None
        if role in ("department", "district") and u is None:
            raise ValidationFailed(f"{role} 用户必须指定所属单位")
        if role == "district" and (u is None or u.district_id is None):
            raise ValidationFailed("辖市区用户的单位必须属于某个辖市区")
        try:
            pw = hash_password(password)
        except ValueError as e:
            raise ValidationFailed(str(e)) from None
        user = User(username=username, display_name=display_name, password_hash=pw, role=role,
                    unit_id=u.id if u else None, active=True)
        self.s.add(user)
        self.s.flush()
        self._audit("user.create", "user", user.id,
                    after={"username": username, "display_name": display_name, "role": role,
                           "unit": u.name if u else None})
        return user

    def user_by_name(self, username: str) -> User | None:
        """The user whose name equals ``username`` ignoring case (names are unique on ``lower(username)``)."""
        return self.s.execute(select(User).where(func.lower(User.username) == username.strip().lower())
                              ).scalar_one_or_none()

    def _free_display_name(self, name: Any) -> str:
        """``name`` cleaned of control/format characters, checked unused by anybody else (ignoring case)."""
        if not isinstance(name, str):
            raise ValidationFailed("显示名应为文本")
        name = clean_name(name)
        if not name:
            raise ValidationFailed("显示名不能为空")
        if len(name) > 100:
            raise ValidationFailed(f"显示名不能超过 100 个字符（收到 {len(name)} 个）")
        key = name.casefold()
        taken = self.s.execute(select(User.display_name)).scalars()
        if any(other.casefold() == key for other in taken):
            raise AlreadyExists(f"显示名“{name}”已被其他用户使用（不区分大小写），请换一个以免在审计日志中混淆")
        return name

    def change_own_password(self, current: str, new: str, *, keep_token: str | None = None) -> int:
        """The signed-in user changes their password (the rules of account creation apply to the new one); every
        other session and token of the user is revoked (``keep_token``: the one making the request). Returns how
        many were revoked. Raises :class:`PermissionDenied` if ``current`` is wrong."""
        if self.p.user_id is None:
            raise PermissionDenied("请先登录")
        user = self.s.get(User, self.p.user_id)
        if user is None or not user.active:
            raise PermissionDenied("请先登录")
        if not isinstance(current, str) or not isinstance(new, str):
            raise ValidationFailed("需要当前密码和新密码")
        if not verify_password(user, current):
            raise PermissionDenied("当前密码不正确")
        if new == current:
            raise ValidationFailed("新密码不能与当前密码相同")
        try:
            user.password_hash = hash_password(new)
        except ValueError as e:
            raise ValidationFailed(str(e)) from None
        revoked = revoke_user_tokens(self.s, user.id, except_token=keep_token)
        self._audit("user.password", "user", user.id, after={"revoked_sessions": revoked},
                    note="用户修改了自己的密码")
        return revoked

    def set_user_active(self, username: str, active: bool) -> User:
        require(can_manage_users(self.p), "只有系统管理员可以停用或启用用户")
        user = self.user_by_name(username)
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        before = user.active
        user.active = active
        self._audit("user.active", "user", user.id, before={"active": before}, after={"active": active})
        return user

    def users(self) -> list[User]:
        require(can_manage_users(self.p), "只有系统管理员可以查看用户列表")
        return list(self.s.execute(select(User).order_by(User.id)).scalars())
