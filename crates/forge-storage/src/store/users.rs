//! Users: the first one ever created becomes the admin.

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::{Dialect, with_conn};
use crate::models::{NewUser, User, UserChanges};
use crate::rows::{InsertUser, UserChangeset, UserRow, now};
use crate::schema::users;
use crate::{StorageError, Store};

impl Store {
    /// `is_admin` is true only if no user existed before; decided in the same transaction as
    /// the insert. A taken username or email is `Conflict("username" | "email")`.
    pub async fn create_user(&self, u: &NewUser<'_>) -> Result<User, StorageError> {
        let at = now();
        let row = InsertUser {
            username: u.username.to_owned(),
            email: u.email.to_owned(),
            email_lower: u.email.to_lowercase(),
            hashed_password: u.hashed_password.to_owned(),
            is_active: true,
            is_admin: false,
            created_at: at,
            updated_at: at,
        };
        with_conn!(self.db(), |conn| {
            conn.transaction::<_, StorageError, _>(async |conn| {
                conn.lock_users().await?;
                let created: UserRow = diesel::insert_into(users::table)
                    .values(&row)
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                let total: i64 = users::table.count().get_result(conn).await?;
                if total > 1 {
                    return Ok(User::from(created));
                }
                let user: User = User::from(created);
                let admin: UserRow = diesel::update(users::table.find(user.id))
                    .set(users::is_admin.eq(true))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok(User::from(admin))
            })
            .await
        })
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StorageError> {
        with_conn!(self.db(), |conn| {
            let row: Option<UserRow> = users::table
                .find(id)
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()?;
            Ok(row.map(User::from))
        })
    }

    /// Number of users, deleted or not (registration policy needs to know if any exist).
    pub async fn count_users(&self) -> Result<i64, StorageError> {
        with_conn!(self.db(), |conn| {
            let n: i64 = users::table.count().get_result(conn).await?;
            Ok(n)
        })
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StorageError> {
        let username = username.to_owned();
        with_conn!(self.db(), |conn| {
            let row: Option<UserRow> = users::table
                .filter(users::username.eq(username))
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()?;
            Ok(row.map(User::from))
        })
    }

    /// Case-insensitive.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        let email_lower = email.to_lowercase();
        with_conn!(self.db(), |conn| {
            let row: Option<UserRow> = users::table
                .filter(users::email_lower.eq(&email_lower))
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()?;
            Ok(row.map(User::from))
        })
    }

    /// Bumps `updated_at`. `NotFound` if there is no such user.
    pub async fn update_user(&self, id: i64, c: &UserChanges) -> Result<User, StorageError> {
        let changes = UserChangeset {
            username: c.username.clone(),
            email: c.email.clone(),
            email_lower: c.email.as_deref().map(str::to_lowercase),
            hashed_password: c.hashed_password.clone(),
            updated_at: now(),
        };
        // A new password or username ends every session issued before it.
        let bump = i64::from(c.hashed_password.is_some() || c.username.is_some());
        with_conn!(self.db(), |conn| {
            let row: UserRow = diesel::update(users::table.find(id))
                .set((
                    &changes,
                    users::token_generation.eq(users::token_generation + bump),
                ))
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(User::from(row))
        })
    }
}
